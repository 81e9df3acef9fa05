using System.Buffers;

namespace CnnSharp.Data.Transforms;

/// <summary>Applies transforms one after another, like torchvision's <c>Compose</c>; they share the sample's random source, in order.</summary>
public sealed class Compose : ITransform
{
    private readonly ITransform[] _transforms;

    /// <summary>Creates the chain.</summary>
    /// <param name="transforms">The transforms, first applied first; none is the identity.</param>
    public Compose(params ITransform[] transforms)
    {
        ArgumentNullException.ThrowIfNull(transforms);
        if (Array.Exists(transforms, t => t is null))
            throw new ArgumentException("Compose: a transform is null", nameof(transforms));
        _transforms = (ITransform[])transforms.Clone();
    }

    /// <summary>The transforms in application order.</summary>
    public IReadOnlyList<ITransform> Transforms => _transforms;

    /// <inheritdoc/>
    public Shape OutputShape(Shape input)
    {
        foreach (var t in _transforms)
            input = t.OutputShape(input);
        return input;
    }

    /// <inheritdoc/>
    public void Apply(ReadOnlySpan<float> source, Shape inputShape, Span<float> destination, Generator random)
    {
        if (_transforms.Length == 0)
        {
            ImageShape.CheckSpans(source, inputShape, destination, inputShape, nameof(Compose));
            source.CopyTo(destination);
            return;
        }
        // Intermediate results alternate between two pooled buffers; the last transform writes the destination.
        float[]? a = null, b = null;
        try
        {
            ReadOnlySpan<float> current = source;
            Shape shape = inputShape;
            for (int k = 0; k < _transforms.Length; k++)
            {
                Shape next = _transforms[k].OutputShape(shape);
                Span<float> target;
                if (k == _transforms.Length - 1)
                {
                    target = destination;
                }
                else
                {
                    ref float[]? buffer = ref (k % 2 == 0 ? ref a : ref b);
                    if (buffer is null || buffer.Length < next.Numel)
                    {
                        if (buffer is not null) ArrayPool<float>.Shared.Return(buffer);
                        buffer = ArrayPool<float>.Shared.Rent(next.Numel);
                    }
                    target = buffer.AsSpan(0, next.Numel);
                }
                _transforms[k].Apply(current, shape, target, random);
                current = target;
                shape = next;
            }
        }
        finally
        {
            if (a is not null) ArrayPool<float>.Shared.Return(a);
            if (b is not null) ArrayPool<float>.Shared.Return(b);
        }
    }
}
