using System.Collections;

namespace CnnSharp;

/// <summary>
/// An immutable tensor shape: a list of non-negative dimension sizes, outermost first (row-major, like PyTorch).
/// Formats as <c>(2, 3, 28, 28)</c>, the form used in every error message.
/// </summary>
public sealed class Shape : IEquatable<Shape>, IReadOnlyList<int>
{
    private readonly int[] _dims;

    /// <summary>Creates a shape from dimension sizes.</summary>
    /// <exception cref="ShapeException">A dimension is negative.</exception>
    public Shape(params int[] dims)
    {
        ArgumentNullException.ThrowIfNull(dims);
        _dims = (int[])dims.Clone();
        long n = 1;
        foreach (int d in _dims)
        {
            if (d < 0) throw new ShapeException($"Shape: dimension {d} is negative in {Format(_dims)}");
            n *= d;
            if (n > int.MaxValue) throw new ShapeException($"Shape: {Format(_dims)} has more than {int.MaxValue} elements");
        }
        Numel = (int)n;
    }

    /// <summary>Number of dimensions.</summary>
    public int Rank => _dims.Length;

    /// <summary>Total number of elements (product of the dimensions; 1 for a scalar).</summary>
    public int Numel { get; }

    /// <summary>Size of dimension <paramref name="index"/>; negative indices count from the end (-1 is the last).</summary>
    public int this[int index] => _dims[NormalizeAxis(index)];

    /// <summary>Number of dimensions (for <see cref="IReadOnlyList{T}"/>).</summary>
    public int Count => _dims.Length;

    /// <summary>The dimension sizes as a span.</summary>
    public ReadOnlySpan<int> Dims => _dims;

    /// <summary>A copy of the dimension sizes.</summary>
    public int[] ToArray() => (int[])_dims.Clone();

    /// <summary>Maps a possibly negative axis to 0..Rank-1.</summary>
    /// <exception cref="ShapeException">The axis is out of range.</exception>
    public int NormalizeAxis(int axis)
    {
        int a = axis < 0 ? axis + _dims.Length : axis;
        if (a < 0 || a >= _dims.Length)
            throw new ShapeException($"axis {axis} is out of range for shape {this} (rank {Rank})");
        return a;
    }

    /// <summary>
    /// The row-major position of a full index (one index per dimension, none negative), for the element indexers of
    /// <see cref="Tensor"/> and <see cref="LongTensor"/>; <paramref name="owner"/> names the type in the errors.
    /// </summary>
    /// <exception cref="ShapeException">The index count differs from <see cref="Rank"/>.</exception>
    /// <exception cref="IndexOutOfRangeException">An index is outside its dimension.</exception>
    internal int FlatIndex(int[] index, string owner)
    {
        ArgumentNullException.ThrowIfNull(index);
        if (index.Length != _dims.Length)
            throw new ShapeException($"{owner} indexer: {index.Length} indices for shape {this}");
        int flat = 0;
        for (int i = 0; i < index.Length; i++)
        {
            if ((uint)index[i] >= (uint)_dims[i])
                throw new IndexOutOfRangeException($"{owner} indexer: index {index[i]} out of range for dimension {i} of shape {this}");
            flat = flat * _dims[i] + index[i];
        }
        return flat;
    }

    /// <summary>Row-major strides in elements.</summary>
    public int[] Strides()
    {
        var s = new int[_dims.Length];
        int acc = 1;
        for (int i = _dims.Length - 1; i >= 0; i--) { s[i] = acc; acc *= _dims[i]; }
        return s;
    }

    /// <inheritdoc />
    public bool Equals(Shape? other) => other is not null && _dims.AsSpan().SequenceEqual(other._dims);

    /// <summary>True when the dimensions equal <paramref name="dims"/>.</summary>
    public bool Equals(ReadOnlySpan<int> dims) => _dims.AsSpan().SequenceEqual(dims);

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is Shape s && Equals(s);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var h = new HashCode();
        foreach (int d in _dims) h.Add(d);
        return h.ToHashCode();
    }

    /// <summary>Formats as <c>(d0, d1, ...)</c>.</summary>
    public override string ToString() => Format(_dims);

    /// <summary>Formats dimension sizes as <c>(d0, d1, ...)</c>.</summary>
    public static string Format(ReadOnlySpan<int> dims) => "(" + string.Join(", ", dims.ToArray()) + ")";

    /// <inheritdoc />
    public IEnumerator<int> GetEnumerator() => ((IEnumerable<int>)_dims).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => _dims.GetEnumerator();

    /// <summary>Equality of dimensions.</summary>
    public static bool operator ==(Shape? a, Shape? b) => a is null ? b is null : a.Equals(b);

    /// <summary>Inequality of dimensions.</summary>
    public static bool operator !=(Shape? a, Shape? b) => !(a == b);
}
