namespace CnnSharp;

/// <summary>
/// A dense int64 tensor with contiguous row-major storage, PyTorch's <c>torch.long</c>: shapes, indices and class labels,
/// and the integer (and boolean, as 0/1) values of an ONNX model. It carries no autograd history; arithmetic and
/// gradients live on the float32 <see cref="Tensor"/>.
/// </summary>
/// <remarks>
/// Storage is a <c>long[]</c> of exactly <see cref="Numel"/> elements, wrapped without copying, so a caller that keeps
/// the array sees writes through <see cref="Data"/> and the other way round.
/// </remarks>
public sealed class LongTensor
{
    private readonly long[] _data;

    /// <summary>Wraps <paramref name="data"/> (not copied) with <paramref name="shape"/>.</summary>
    /// <exception cref="ShapeException">The element count of <paramref name="shape"/> differs from <c>data.Length</c>.</exception>
    public LongTensor(long[] data, Shape shape)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(shape);
        if (data.Length != shape.Numel)
            throw new ShapeException($"LongTensor: {data.Length} values cannot have shape {shape} ({shape.Numel} elements)");
        _data = data;
        Shape = shape;
    }

    /// <summary>A one-dimensional tensor holding a copy of <paramref name="values"/> (PyTorch's <c>torch.tensor([...])</c>).</summary>
    public static LongTensor FromValues(params long[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        return new((long[])values.Clone(), new Shape(values.Length));
    }

    /// <summary>The tensor's shape.</summary>
    public Shape Shape { get; }

    /// <summary>Number of dimensions.</summary>
    public int Rank => Shape.Rank;

    /// <summary>Total number of elements.</summary>
    public int Numel => _data.Length;

    /// <summary>Size of dimension <paramref name="dim"/> (negative counts from the end), like PyTorch's <c>size(dim)</c>.</summary>
    public int Size(int dim) => Shape[dim];

    /// <summary>The elements in row-major order (writable; shared with the wrapped array).</summary>
    public Span<long> Data => _data;

    /// <summary>The backing array. For kernels and I/O inside the library.</summary>
    internal long[] Storage => _data;

    /// <summary>The elements as a new array, row-major.</summary>
    public long[] ToArray() => (long[])_data.Clone();

    /// <summary>A deep copy.</summary>
    public LongTensor Clone() => new((long[])_data.Clone(), Shape);

    /// <summary>The single value of a one-element tensor (PyTorch's <c>item()</c>).</summary>
    /// <exception cref="InvalidOperationException">The tensor has more than one element.</exception>
    public long Item()
    {
        if (_data.Length != 1) throw new InvalidOperationException($"Item: tensor of shape {Shape} has {_data.Length} elements, expected 1");
        return _data[0];
    }

    /// <summary>
    /// The values converted to float32 in a new <see cref="Tensor"/> of the same shape (PyTorch's <c>.float()</c>);
    /// magnitudes above 2^24 round to the nearest float.
    /// </summary>
    public Tensor ToFloat()
    {
        var values = new float[_data.Length];
        for (int i = 0; i < values.Length; i++) values[i] = _data[i];
        return new Tensor(values, Shape);
    }

    /// <summary>
    /// The values of <paramref name="tensor"/> as int64, each truncated toward zero (PyTorch's <c>.long()</c>).
    /// </summary>
    /// <exception cref="ArgumentException">An element is NaN or infinite, or outside the int64 range.</exception>
    public static LongTensor FromTensor(Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        ReadOnlySpan<float> source = tensor.Data;
        var values = new long[source.Length];
        for (int i = 0; i < values.Length; i++)
        {
            float f = source[i];
            // ±2^63 are floats; values at or beyond them (and NaN) have no int64 value.
            if (!(f >= -TwoTo63 && f < TwoTo63))
                throw new ArgumentException($"LongTensor.FromTensor: element {i} ({f}) of shape {tensor.Shape} has no int64 value", nameof(tensor));
            values[i] = (long)f;
        }
        return new LongTensor(values, tensor.Shape);
    }

    private const float TwoTo63 = 9.223372036854775808E18f;

    /// <summary>Element at a full index (one index per dimension; negative indices are not allowed).</summary>
    [System.Runtime.CompilerServices.IndexerName("At")]
    public long this[params int[] index]
    {
        get => _data[FlatIndex(index)];
        set => _data[FlatIndex(index)] = value;
    }

    /// <summary><c>LongTensor(2, 3)</c>: the shape, not the values.</summary>
    public override string ToString() => $"LongTensor{Shape}";

    private int FlatIndex(int[] index) => Shape.FlatIndex(index, "LongTensor");
}
