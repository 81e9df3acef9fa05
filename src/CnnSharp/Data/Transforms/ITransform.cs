namespace CnnSharp.Data.Transforms;

/// <summary>
/// A per-sample transform of an image sample of shape (C, H, W), like a torchvision transform applied to a tensor.
/// A <see cref="DataLoader"/> applies it to every sample it loads (see its <c>transform</c> parameter).
/// </summary>
/// <remarks>
/// A random transform draws every random number it needs from the <see cref="Generator"/> it is given, in a fixed
/// order, and from nothing else: the loader seeds that generator from (seed, epoch, sample index), so a sample's
/// augmentation depends only on those three numbers, never on the thread that runs it or on the other samples of the
/// batch. Implementations must be safe to call from several threads at once (hold no mutable state).
/// </remarks>
public interface ITransform
{
    /// <summary>The shape of the output for an input of shape <paramref name="input"/>.</summary>
    /// <exception cref="ShapeException">The transform cannot take that shape (e.g. not (C, H, W), or a crop larger than the padded image).</exception>
    Shape OutputShape(Shape input);

    /// <summary>Transforms one sample.</summary>
    /// <param name="source">The sample, <c>inputShape.Numel</c> values, row-major.</param>
    /// <param name="inputShape">Its shape, e.g. (1, 28, 28).</param>
    /// <param name="destination">Receives <c>OutputShape(inputShape).Numel</c> values; must not overlap <paramref name="source"/>.</param>
    /// <param name="random">The sample's own random source.</param>
    void Apply(ReadOnlySpan<float> source, Shape inputShape, Span<float> destination, Generator random);
}
