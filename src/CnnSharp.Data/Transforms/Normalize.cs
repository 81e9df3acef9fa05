namespace CnnSharp.Data.Transforms;

/// <summary>
/// Normalises each channel: <c>out[c] = (x[c] - mean[c]) / std[c]</c>, in float32 exactly as torchvision's
/// <c>Normalize(mean, std)</c> on a tensor (<c>sub_(mean).div_(std)</c>). Not random.
/// </summary>
/// <example><c>new Normalize([0.2860f], [0.3530f])</c> for Fashion-MNIST's training-set statistics.</example>
public sealed class Normalize : ITransform
{
    private readonly float[] _mean, _std;

    /// <summary>Creates the transform.</summary>
    /// <param name="mean">One mean for all channels or one per channel.</param>
    /// <param name="std">One standard deviation for all channels or one per channel; each positive and finite.</param>
    /// <exception cref="ArgumentException">An array is empty, a value is not finite, or a std is not positive.</exception>
    public Normalize(float[] mean, float[] std)
    {
        ArgumentNullException.ThrowIfNull(mean);
        ArgumentNullException.ThrowIfNull(std);
        if (mean.Length == 0 || std.Length == 0)
            throw new ArgumentException("Normalize: mean and std need at least one value each");
        if (Array.Exists(mean, m => !float.IsFinite(m)))
            throw new ArgumentException($"Normalize: every mean must be finite, got [{string.Join(", ", mean)}]", nameof(mean));
        if (Array.Exists(std, s => !(s > 0) || !float.IsFinite(s)))
            throw new ArgumentException($"Normalize: every std must be positive and finite, got [{string.Join(", ", std)}]", nameof(std));
        _mean = (float[])mean.Clone();
        _std = (float[])std.Clone();
    }

    /// <summary>The per-channel means (a copy).</summary>
    public float[] Mean => (float[])_mean.Clone();

    /// <summary>The per-channel standard deviations (a copy).</summary>
    public float[] Std => (float[])_std.Clone();

    /// <inheritdoc/>
    public Shape OutputShape(Shape input)
    {
        var (c, _, _) = ImageShape.Chw(input, nameof(Normalize));
        ImageShape.PerChannel(_mean, 0, c, nameof(Normalize), "mean");
        ImageShape.PerChannel(_std, 0, c, nameof(Normalize), "std");
        return input;
    }

    /// <inheritdoc/>
    public void Apply(ReadOnlySpan<float> source, Shape inputShape, Span<float> destination, Generator random)
    {
        var (c, h, w) = ImageShape.Chw(OutputShape(inputShape), nameof(Normalize));
        ImageShape.CheckSpans(source, inputShape, destination, inputShape, nameof(Normalize));
        int plane = h * w;
        for (int ch = 0; ch < c; ch++)
        {
            float m = ImageShape.PerChannel(_mean, ch, c, nameof(Normalize), "mean");
            float s = ImageShape.PerChannel(_std, ch, c, nameof(Normalize), "std");
            var src = source.Slice(ch * plane, plane);
            var dst = destination.Slice(ch * plane, plane);
            for (int i = 0; i < plane; i++)
                dst[i] = (src[i] - m) / s;
        }
    }
}
