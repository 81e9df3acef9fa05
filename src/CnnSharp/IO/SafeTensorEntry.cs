namespace CnnSharp.IO;

/// <summary>
/// One named tensor of a safetensors file: its dtype, shape and raw little-endian bytes, with conversions to
/// CnnSharp's float32 <see cref="Tensor"/> and to int64 values.
/// </summary>
/// <remarks>
/// Float16 and BFloat16 widen to float32 exactly; Float64 rounds to nearest. Int64 entries (PyTorch's
/// <c>num_batches_tracked</c>) are read with <see cref="ToInt64Array"/>. The bytes are kept as stored, so writing an
/// entry back reproduces it bit for bit.
/// </remarks>
public sealed class SafeTensorEntry
{
    private readonly byte[] _bytes;

    /// <summary>Creates an entry from raw little-endian bytes (not copied).</summary>
    /// <param name="name">The tensor's key, e.g. <c>layer1.0.weight</c>.</param>
    /// <param name="dtype">The element type.</param>
    /// <param name="shape">The shape; its element count times the dtype size must equal <c>bytes.Length</c>.</param>
    /// <param name="bytes">Row-major little-endian element bytes.</param>
    /// <exception cref="ArgumentException">The name is empty or <c>__metadata__</c>, or the byte length disagrees with shape and dtype.</exception>
    public SafeTensorEntry(string name, SafeTensorDType dtype, Shape shape, byte[] bytes)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(bytes);
        ValidateName(name);
        long expected = (long)shape.Numel * dtype.ElementSize();
        if (bytes.Length != expected)
            throw new ArgumentException($"SafeTensorEntry '{name}': {bytes.Length} bytes do not match shape {shape} of {dtype.FormatName()} ({expected} bytes)", nameof(bytes));
        Name = name;
        DType = dtype;
        Shape = shape;
        _bytes = bytes;
    }

    /// <summary>The tensor's key.</summary>
    public string Name { get; }

    /// <summary>The element type as stored.</summary>
    public SafeTensorDType DType { get; }

    /// <summary>The shape (a 0-rank shape is a scalar with one element).</summary>
    public Shape Shape { get; }

    /// <summary>Number of elements.</summary>
    public int ElementCount => Shape.Numel;

    /// <summary>The raw little-endian bytes as stored.</summary>
    public ReadOnlySpan<byte> Bytes => _bytes;

    internal byte[] RawBytes => _bytes;

    /// <summary>True for F16, BF16, F32 and F64 entries (those <see cref="ToTensor"/> accepts).</summary>
    public bool IsFloatingPoint => DType is SafeTensorDType.Float16 or SafeTensorDType.BFloat16 or SafeTensorDType.Float32 or SafeTensorDType.Float64;

    /// <summary>The values as float32, row-major: F32 as stored, F16/BF16 widened exactly, F64 rounded to nearest.</summary>
    /// <exception cref="InvalidOperationException">The entry is not floating point (use <see cref="ToInt64Array"/>).</exception>
    public float[] ToFloatArray()
    {
        if (!IsFloatingPoint)
            throw new InvalidOperationException($"SafeTensorEntry '{Name}': {DType.FormatName()} is not a floating-point dtype; read it with ToInt64Array");
        return ElementCodec.ToFloat32(_bytes, Kind(DType));
    }

    /// <summary>A new float32 tensor with this entry's shape and values (see <see cref="ToFloatArray"/>).</summary>
    /// <exception cref="InvalidOperationException">The entry is not floating point.</exception>
    public Tensor ToTensor() => new(ToFloatArray(), Shape);

    /// <summary>The values as int64, row-major, for integer and bool dtypes (BOOL reads as 0/1).</summary>
    /// <exception cref="InvalidOperationException">The entry is floating point, or a U64 value exceeds <see cref="long.MaxValue"/>.</exception>
    public long[] ToInt64Array()
    {
        if (IsFloatingPoint || DType is SafeTensorDType.Float8E4M3 or SafeTensorDType.Float8E5M2)
            throw new InvalidOperationException($"SafeTensorEntry '{Name}': {DType.FormatName()} is not an integer dtype; read it with ToFloatArray");
        try
        {
            return ElementCodec.ToInt64(_bytes, Kind(DType));
        }
        catch (OverflowException e)
        {
            throw new InvalidOperationException($"SafeTensorEntry '{Name}': {e.Message}", e);
        }
    }

    /// <summary>The single value of a one-element integer entry, e.g. <c>num_batches_tracked</c>.</summary>
    /// <exception cref="InvalidOperationException">The entry has more than one element or is not an integer dtype.</exception>
    public long ToInt64Scalar()
    {
        if (ElementCount != 1)
            throw new InvalidOperationException($"SafeTensorEntry '{Name}': shape {Shape} has {ElementCount} elements, expected 1");
        return ToInt64Array()[0];
    }

    /// <summary>An entry holding <paramref name="tensor"/>'s values (copied) as <paramref name="dtype"/>.</summary>
    /// <param name="name">The key.</param>
    /// <param name="tensor">The tensor to store.</param>
    /// <param name="dtype">F32 (exact, the default), F16 or BF16 (rounded to nearest even), or F64.</param>
    /// <exception cref="ArgumentException">The dtype is not floating point, or the name is invalid.</exception>
    public static SafeTensorEntry FromTensor(string name, Tensor tensor, SafeTensorDType dtype = SafeTensorDType.Float32)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        return FromFloats(name, tensor.Data, tensor.Shape, dtype);
    }

    /// <summary>An entry holding float values (copied) as <paramref name="dtype"/>.</summary>
    /// <exception cref="ArgumentException">The dtype is not floating point, the value count differs from the shape, or the name is invalid.</exception>
    public static SafeTensorEntry FromFloats(string name, ReadOnlySpan<float> values, Shape shape, SafeTensorDType dtype = SafeTensorDType.Float32)
    {
        ArgumentNullException.ThrowIfNull(shape);
        if (dtype is not (SafeTensorDType.Float16 or SafeTensorDType.BFloat16 or SafeTensorDType.Float32 or SafeTensorDType.Float64))
            throw new ArgumentException($"SafeTensorEntry '{name}': float values cannot be stored as {dtype.FormatName()}", nameof(dtype));
        if (values.Length != shape.Numel)
            throw new ArgumentException($"SafeTensorEntry '{name}': {values.Length} values do not fill shape {shape} ({shape.Numel} elements)", nameof(values));
        return new SafeTensorEntry(name, dtype, shape, ElementCodec.FromFloat32(values, Kind(dtype)));
    }

    /// <summary>An entry holding int64 values (copied) as an integer or bool <paramref name="dtype"/>.</summary>
    /// <exception cref="ArgumentException">The dtype is not an integer/bool type, a value does not fit it, the value count differs from the shape, or the name is invalid.</exception>
    public static SafeTensorEntry FromInt64(string name, ReadOnlySpan<long> values, Shape shape, SafeTensorDType dtype = SafeTensorDType.Int64)
    {
        ArgumentNullException.ThrowIfNull(shape);
        if (dtype is SafeTensorDType.Float16 or SafeTensorDType.BFloat16 or SafeTensorDType.Float32 or SafeTensorDType.Float64
            or SafeTensorDType.Float8E4M3 or SafeTensorDType.Float8E5M2)
            throw new ArgumentException($"SafeTensorEntry '{name}': integer values cannot be stored as {dtype.FormatName()}", nameof(dtype));
        if (values.Length != shape.Numel)
            throw new ArgumentException($"SafeTensorEntry '{name}': {values.Length} values do not fill shape {shape} ({shape.Numel} elements)", nameof(values));
        try
        {
            return new SafeTensorEntry(name, dtype, shape, ElementCodec.FromInt64(values, Kind(dtype)));
        }
        catch (OverflowException e)
        {
            throw new ArgumentException($"SafeTensorEntry '{name}': {e.Message}", nameof(values), e);
        }
    }

    /// <summary>A 0-rank I64 entry, the way PyTorch stores <c>num_batches_tracked</c>.</summary>
    public static SafeTensorEntry Int64Scalar(string name, long value) => FromInt64(name, [value], new Shape());

    /// <summary>A 0-rank F64 entry holding <paramref name="value"/> exactly (a state dict's float64 scalar).</summary>
    public static SafeTensorEntry Float64Scalar(string name, double value)
    {
        var bytes = new byte[sizeof(double)];
        System.Buffers.Binary.BinaryPrimitives.WriteDoubleLittleEndian(bytes, value);
        return new SafeTensorEntry(name, SafeTensorDType.Float64, new Shape(), bytes);
    }

    /// <summary>The exact value of a 0-rank F64 entry (see <see cref="Float64Scalar"/>).</summary>
    /// <exception cref="InvalidOperationException">The entry is not a 0-rank F64.</exception>
    public double ToFloat64Scalar() =>
        DType == SafeTensorDType.Float64 && Shape.Rank == 0
            ? System.Buffers.Binary.BinaryPrimitives.ReadDoubleLittleEndian(_bytes)
            : throw new InvalidOperationException($"SafeTensorEntry '{Name}': {DType.FormatName()} {Shape} is not a 0-rank F64");

    /// <inheritdoc />
    public override string ToString() => $"{Name}: {DType.FormatName()} {Shape}";

    internal static void ValidateName(string name)
    {
        if (name.Length == 0) throw new ArgumentException("SafeTensorEntry: the tensor name is empty", nameof(name));
        if (name == SafeTensors.MetadataKey) throw new ArgumentException($"SafeTensorEntry: '{SafeTensors.MetadataKey}' is reserved for the file's metadata", nameof(name));
    }

    internal static ElementKind Kind(SafeTensorDType dtype) => dtype switch
    {
        SafeTensorDType.Bool => ElementKind.Bool,
        SafeTensorDType.UInt8 => ElementKind.UInt8,
        SafeTensorDType.Int8 => ElementKind.Int8,
        SafeTensorDType.Int16 => ElementKind.Int16,
        SafeTensorDType.UInt16 => ElementKind.UInt16,
        SafeTensorDType.Float16 => ElementKind.Float16,
        SafeTensorDType.BFloat16 => ElementKind.BFloat16,
        SafeTensorDType.Int32 => ElementKind.Int32,
        SafeTensorDType.UInt32 => ElementKind.UInt32,
        SafeTensorDType.Float32 => ElementKind.Float32,
        SafeTensorDType.Float64 => ElementKind.Float64,
        SafeTensorDType.Int64 => ElementKind.Int64,
        SafeTensorDType.UInt64 => ElementKind.UInt64,
        _ => throw new InvalidOperationException($"{dtype.FormatName()} has no element conversion"),
    };
}
