namespace CnnSharp.Data.Transforms;

/// <summary>Shape checks shared by the image transforms.</summary>
internal static class ImageShape
{
    /// <summary>(C, H, W) of <paramref name="shape"/>, or a <see cref="ShapeException"/> naming the transform.</summary>
    public static (int Channels, int Height, int Width) Chw(Shape shape, string transform)
    {
        if (shape.Rank != 3)
            throw new ShapeException($"{transform}: expected an image sample of shape (C, H, W), got {shape}");
        return (shape[0], shape[1], shape[2]);
    }

    /// <summary>Checks the span lengths of an <see cref="ITransform.Apply"/> call.</summary>
    public static void CheckSpans(ReadOnlySpan<float> source, Shape input, Span<float> destination, Shape output, string transform)
    {
        if (source.Length != input.Numel)
            throw new ArgumentException($"{transform}: source has {source.Length} values, shape {input} has {input.Numel}", nameof(source));
        if (destination.Length < output.Numel)
            throw new ArgumentException($"{transform}: destination has {destination.Length} values, the output {output} needs {output.Numel}", nameof(destination));
    }

    /// <summary>Expands a per-channel parameter: one value for all channels, or exactly one per channel.</summary>
    public static float PerChannel(float[] values, int channel, int channels, string transform, string name)
    {
        if (values.Length == 1) return values[0];
        if (values.Length != channels)
            throw new ShapeException($"{transform}: {name} has {values.Length} values, the sample has {channels} channels (give 1 or {channels})");
        return values[channel];
    }
}
