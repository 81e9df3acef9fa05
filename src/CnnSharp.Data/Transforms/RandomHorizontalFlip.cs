namespace CnnSharp.Data.Transforms;

/// <summary>
/// Mirrors the sample left-right (reverses the W axis) with probability <see cref="P"/>, like torchvision's
/// <c>RandomHorizontalFlip(p)</c>: one draw <c>u = random.NextFloat()</c>, flipped when <c>u &lt; p</c>.
/// </summary>
public sealed class RandomHorizontalFlip : ITransform
{
    /// <summary>Creates the transform.</summary>
    /// <param name="p">Probability of a flip, in [0, 1] (default 0.5).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="p"/> is outside [0, 1].</exception>
    public RandomHorizontalFlip(float p = 0.5f)
    {
        if (!(p >= 0 && p <= 1))
            throw new ArgumentOutOfRangeException(nameof(p), p, "RandomHorizontalFlip: p must be in [0, 1]");
        P = p;
    }

    /// <summary>Probability of a flip.</summary>
    public float P { get; }

    /// <inheritdoc/>
    public Shape OutputShape(Shape input)
    {
        ImageShape.Chw(input, nameof(RandomHorizontalFlip));
        return input;
    }

    /// <inheritdoc/>
    public void Apply(ReadOnlySpan<float> source, Shape inputShape, Span<float> destination, Generator random)
    {
        ArgumentNullException.ThrowIfNull(random);
        var (c, h, w) = ImageShape.Chw(inputShape, nameof(RandomHorizontalFlip));
        ImageShape.CheckSpans(source, inputShape, destination, inputShape, nameof(RandomHorizontalFlip));
        bool flip = random.NextFloat() < P;
        if (!flip)
        {
            source.CopyTo(destination);
            return;
        }
        for (int row = 0; row < c * h; row++)
        {
            var src = source.Slice(row * w, w);
            var dst = destination.Slice(row * w, w);
            for (int x = 0; x < w; x++)
                dst[x] = src[w - 1 - x];
        }
    }
}
