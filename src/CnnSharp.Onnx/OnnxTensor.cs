using CnnSharp.IO;

namespace CnnSharp.Onnx;

/// <summary>
/// A decoded ONNX tensor (an initializer, a <c>Constant</c> value, or a test-data file): name, element type, shape and
/// little-endian element bytes, with conversions to float32, int64 and bool.
/// </summary>
/// <remarks>
/// Whatever field the file used (<c>raw_data</c> or a typed field such as <c>float_data</c> / <c>int32_data</c>), the
/// values are held as packed little-endian elements of <see cref="DataType"/>, so they can be written back unchanged.
/// Supported element types: FLOAT, DOUBLE, FLOAT16, BFLOAT16, INT8/16/32/64, UINT8/16/32/64 and BOOL.
/// </remarks>
public sealed class OnnxTensor
{
    private readonly byte[] _raw;

    /// <summary>Creates a tensor from packed little-endian element bytes (not copied).</summary>
    /// <param name="name">The value name (may be empty).</param>
    /// <param name="dataType">The element type; must be a supported one.</param>
    /// <param name="shape">The shape; its element count times the element size must equal <c>rawData.Length</c>.</param>
    /// <param name="rawData">Packed little-endian elements, row-major.</param>
    /// <exception cref="ArgumentException">Unsupported type, or byte length disagreeing with shape and type.</exception>
    public OnnxTensor(string name, OnnxDataType dataType, Shape shape, byte[] rawData)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(rawData);
        if (!TryGetKind(dataType, out var kind))
            throw new ArgumentException($"OnnxTensor '{name}': element type {dataType} is not supported", nameof(dataType));
        long expected = (long)shape.Numel * ElementCodec.Size(kind);
        if (rawData.Length != expected)
            throw new ArgumentException($"OnnxTensor '{name}': {rawData.Length} bytes do not match {dataType} {shape} ({expected} bytes)", nameof(rawData));
        Name = name;
        DataType = dataType;
        Shape = shape;
        Kind = kind;
        _raw = rawData;
    }

    /// <summary>The value name (empty for anonymous tensors such as some attribute values).</summary>
    public string Name { get; }

    /// <summary>The element type as stored.</summary>
    public OnnxDataType DataType { get; }

    /// <summary>The shape (0-rank for scalars).</summary>
    public Shape Shape { get; }

    /// <summary>Number of elements.</summary>
    public int ElementCount => Shape.Numel;

    /// <summary>The packed little-endian element bytes.</summary>
    public ReadOnlySpan<byte> RawData => _raw;

    internal byte[] RawBytes => _raw;

    internal ElementKind Kind { get; }

    /// <summary>True for FLOAT, DOUBLE, FLOAT16 and BFLOAT16.</summary>
    public bool IsFloatingPoint => ElementCodec.IsFloatingPoint(Kind);

    /// <summary>
    /// The values as float32, row-major: FLOAT as stored, FLOAT16/BFLOAT16 widened exactly, DOUBLE and 64-bit integers
    /// rounded to nearest, other integers and BOOL (0/1) converted exactly.
    /// </summary>
    public float[] ToFloatArray() => ElementCodec.ToFloat32(_raw, Kind);

    /// <summary>A new float32 tensor with this shape (values as in <see cref="ToFloatArray"/>).</summary>
    public Tensor ToTensor() => new(ToFloatArray(), Shape);

    /// <summary>The values as int64 for integer and BOOL types (shape inputs of Reshape, indices of Gather, ...).</summary>
    /// <exception cref="InvalidOperationException">The type is floating point, or a UINT64 value exceeds <see cref="long.MaxValue"/>.</exception>
    public long[] ToInt64Array()
    {
        if (IsFloatingPoint)
            throw new InvalidOperationException($"OnnxTensor '{Name}': {DataType} is not an integer type; read it with ToFloatArray");
        try
        {
            return ElementCodec.ToInt64(_raw, Kind);
        }
        catch (OverflowException e)
        {
            throw new InvalidOperationException($"OnnxTensor '{Name}': {e.Message}", e);
        }
    }

    /// <summary>A new int64 tensor with this shape (values as in <see cref="ToInt64Array"/>; BOOL as 0/1).</summary>
    /// <exception cref="InvalidOperationException">The type is floating point, or a UINT64 value exceeds <see cref="long.MaxValue"/>.</exception>
    public LongTensor ToLongTensor() => new(ToInt64Array(), Shape);

    /// <summary>The values of a BOOL tensor (any non-zero byte is true).</summary>
    /// <exception cref="InvalidOperationException">The type is not BOOL.</exception>
    public bool[] ToBoolArray()
    {
        if (DataType != OnnxDataType.Bool)
            throw new InvalidOperationException($"OnnxTensor '{Name}': {DataType} is not BOOL");
        var result = new bool[_raw.Length];
        for (int i = 0; i < result.Length; i++) result[i] = _raw[i] != 0;
        return result;
    }

    /// <summary>A FLOAT tensor holding a copy of <paramref name="tensor"/>'s values.</summary>
    public static OnnxTensor FromTensor(string name, Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        return FromFloats(name, tensor.Data, tensor.Shape);
    }

    /// <summary>An integer or BOOL tensor (INT64 by default) holding a copy of <paramref name="tensor"/>'s values.</summary>
    /// <exception cref="ArgumentException">The type is not integer/BOOL, or a value does not fit it.</exception>
    public static OnnxTensor FromTensor(string name, LongTensor tensor, OnnxDataType dataType = OnnxDataType.Int64)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        return FromInt64(name, tensor.Data, tensor.Shape, dataType);
    }

    /// <summary>A floating-point tensor (FLOAT by default; DOUBLE widens exactly, FLOAT16/BFLOAT16 round to nearest even).</summary>
    /// <exception cref="ArgumentException">The type is not floating point or the value count differs from the shape.</exception>
    public static OnnxTensor FromFloats(string name, ReadOnlySpan<float> values, Shape shape, OnnxDataType dataType = OnnxDataType.Float)
    {
        ArgumentNullException.ThrowIfNull(shape);
        if (!TryGetKind(dataType, out var kind) || !ElementCodec.IsFloatingPoint(kind))
            throw new ArgumentException($"OnnxTensor '{name}': float values cannot be stored as {dataType}", nameof(dataType));
        CheckCount(name, values.Length, shape);
        return new OnnxTensor(name, dataType, shape, ElementCodec.FromFloat32(values, kind));
    }

    /// <summary>An integer or BOOL tensor (INT64 by default) from int64 values.</summary>
    /// <exception cref="ArgumentException">The type is not integer/BOOL, a value does not fit it, or the value count differs from the shape.</exception>
    public static OnnxTensor FromInt64(string name, ReadOnlySpan<long> values, Shape shape, OnnxDataType dataType = OnnxDataType.Int64)
    {
        ArgumentNullException.ThrowIfNull(shape);
        if (!TryGetKind(dataType, out var kind) || ElementCodec.IsFloatingPoint(kind))
            throw new ArgumentException($"OnnxTensor '{name}': integer values cannot be stored as {dataType}", nameof(dataType));
        CheckCount(name, values.Length, shape);
        try
        {
            return new OnnxTensor(name, dataType, shape, ElementCodec.FromInt64(values, kind));
        }
        catch (OverflowException e)
        {
            throw new ArgumentException($"OnnxTensor '{name}': {e.Message}", nameof(values), e);
        }
    }

    /// <summary>A BOOL tensor.</summary>
    /// <exception cref="ArgumentException">The value count differs from the shape.</exception>
    public static OnnxTensor FromBools(string name, ReadOnlySpan<bool> values, Shape shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        CheckCount(name, values.Length, shape);
        var bytes = new byte[values.Length];
        for (int i = 0; i < bytes.Length; i++) bytes[i] = values[i] ? (byte)1 : (byte)0;
        return new OnnxTensor(name, OnnxDataType.Bool, shape, bytes);
    }

    /// <inheritdoc />
    public override string ToString() => $"{(Name.Length == 0 ? "<unnamed>" : Name)}: {DataType} {Shape}";

    internal static bool TryGetKind(OnnxDataType type, out ElementKind kind)
    {
        (bool ok, kind) = type switch
        {
            OnnxDataType.Float => (true, ElementKind.Float32),
            OnnxDataType.UInt8 => (true, ElementKind.UInt8),
            OnnxDataType.Int8 => (true, ElementKind.Int8),
            OnnxDataType.UInt16 => (true, ElementKind.UInt16),
            OnnxDataType.Int16 => (true, ElementKind.Int16),
            OnnxDataType.Int32 => (true, ElementKind.Int32),
            OnnxDataType.Int64 => (true, ElementKind.Int64),
            OnnxDataType.Bool => (true, ElementKind.Bool),
            OnnxDataType.Float16 => (true, ElementKind.Float16),
            OnnxDataType.Double => (true, ElementKind.Float64),
            OnnxDataType.UInt32 => (true, ElementKind.UInt32),
            OnnxDataType.UInt64 => (true, ElementKind.UInt64),
            OnnxDataType.BFloat16 => (true, ElementKind.BFloat16),
            _ => (false, ElementKind.Float32),
        };
        return ok;
    }

    private static void CheckCount(string name, int count, Shape shape)
    {
        if (count != shape.Numel)
            throw new ArgumentException($"OnnxTensor '{name}': {count} values do not fill shape {shape} ({shape.Numel} elements)");
    }
}
