namespace CnnSharp.Onnx.Runtime;

/// <summary>
/// The runtime's handle on one value of an executing ONNX graph: a library <see cref="CnnSharp.Tensor"/> for
/// floating-point values (FLOAT, DOUBLE, FLOAT16, BFLOAT16 all compute in float32) or a <see cref="CnnSharp.LongTensor"/>
/// for integer and BOOL values (BOOL as 0/1), with the declared ONNX element type, which the tensor types do not carry.
/// It holds no storage of its own: <see cref="Floats"/> and <see cref="Longs"/> are the tensor's arrays, so a value
/// made from a tensor (implicitly: <c>OnnxValue v = F.Relu(x);</c>) and the tensor taken back out (<see cref="AsTensor"/>)
/// share their elements.
/// </summary>
internal sealed class OnnxValue
{
    private readonly Tensor? _tensor;
    private readonly LongTensor? _longs;

    private OnnxValue(OnnxDataType dataType, int[] shape, Tensor? tensor, LongTensor? longs)
    {
        DataType = dataType;
        Shape = shape;
        _tensor = tensor;
        _longs = longs;
    }

    /// <summary>The element type (FLOAT for every floating-point value).</summary>
    public OnnxDataType DataType { get; }

    /// <summary>
    /// The dimensions, outermost first (the tensor's <see cref="CnnSharp.Shape"/> as an array, which operators index
    /// and slice on every run). Not to be modified.
    /// </summary>
    public int[] Shape { get; }

    /// <summary>The float32 elements (the <see cref="CnnSharp.Tensor"/>'s storage); only valid when <see cref="IsFloat"/>.</summary>
    public float[] Floats => _tensor!.Storage;

    /// <summary>The int64 elements (the <see cref="CnnSharp.LongTensor"/>'s storage, BOOL as 0/1); only valid when not <see cref="IsFloat"/>.</summary>
    public long[] Longs => _longs!.Storage;

    /// <summary>True when the value holds float32 data.</summary>
    public bool IsFloat => _tensor is not null;

    /// <summary>Number of elements.</summary>
    public int Count => IsFloat ? _tensor!.Numel : _longs!.Numel;

    /// <summary>Number of dimensions.</summary>
    public int Rank => Shape.Length;

    /// <summary>The storage array (float[] or long[]).</summary>
    public Array Storage => IsFloat ? Floats : Longs;

    /// <summary>The float value as the library's tensor (sharing its storage).</summary>
    /// <exception cref="ShapeException">The value is an integer or BOOL value.</exception>
    public Tensor AsTensor() => _tensor ?? throw new ShapeException($"expected a FLOAT value but got {this}");

    /// <summary>The integer or BOOL value as the library's int64 tensor (sharing its storage).</summary>
    /// <exception cref="ShapeException">The value is a float value.</exception>
    public LongTensor AsLongTensor() => _longs ?? throw new ShapeException($"expected an integer value but got {this}");

    /// <summary>A float value over <paramref name="tensor"/> (not copied).</summary>
    public static OnnxValue FromTensor(Tensor tensor) => new(OnnxDataType.Float, tensor.Shape.ToArray(), tensor, null);

    /// <summary>An integer or BOOL value over <paramref name="tensor"/> (not copied).</summary>
    public static OnnxValue FromLongTensor(LongTensor tensor, OnnxDataType dataType = OnnxDataType.Int64)
    {
        if (IsFloatingType(dataType)) throw new ArgumentException($"OnnxValue: {dataType} is not an integer type", nameof(dataType));
        return new(dataType, tensor.Shape.ToArray(), null, tensor);
    }

    /// <summary>A float value over <paramref name="tensor"/> (not copied), so library tensors feed operators directly.</summary>
    public static implicit operator OnnxValue(Tensor tensor) => FromTensor(tensor);

    /// <summary>An INT64 value over <paramref name="tensor"/> (not copied).</summary>
    public static implicit operator OnnxValue(LongTensor tensor) => FromLongTensor(tensor);

    /// <summary>A float value over <paramref name="data"/> (not copied).</summary>
    public static OnnxValue FromFloats(float[] data, int[] shape)
    {
        CheckCount(data.Length, shape);
        return new OnnxValue(OnnxDataType.Float, shape, new Tensor(data, new CnnSharp.Shape(shape)), null);
    }

    /// <summary>An integer or BOOL value over <paramref name="data"/> (not copied).</summary>
    public static OnnxValue FromLongs(long[] data, int[] shape, OnnxDataType dataType = OnnxDataType.Int64)
    {
        CheckCount(data.Length, shape);
        if (IsFloatingType(dataType)) throw new ArgumentException($"OnnxValue: {dataType} is not an integer type", nameof(dataType));
        return new OnnxValue(dataType, shape, null, new LongTensor(data, new CnnSharp.Shape(shape)));
    }

    /// <summary>An uninitialized value of <paramref name="dataType"/> (floating types become FLOAT).</summary>
    public static OnnxValue Create(OnnxDataType dataType, int[] shape)
    {
        int n = Numel(shape);
        return IsFloatingType(dataType) ? FromFloats(new float[n], shape) : FromLongs(new long[n], shape, dataType);
    }

    /// <summary>Converts a decoded ONNX tensor (copying its elements).</summary>
    public static OnnxValue FromTensor(OnnxTensor tensor)
    {
        int[] shape = tensor.Shape.ToArray();
        return tensor.IsFloatingPoint
            ? FromFloats(tensor.ToFloatArray(), shape)
            : FromLongs(tensor.ToInt64Array(), shape, tensor.DataType);
    }

    /// <summary>Converts to an <see cref="OnnxTensor"/> (FLOAT, or this value's integer/BOOL type).</summary>
    public OnnxTensor ToOnnxTensor(string name) => IsFloat
        ? OnnxTensor.FromFloats(name, Floats, new CnnSharp.Shape(Shape))
        : OnnxTensor.FromInt64(name, Longs, new CnnSharp.Shape(Shape), DataType);

    /// <summary>A deep copy.</summary>
    public OnnxValue Clone() => IsFloat
        ? FromFloats((float[])Floats.Clone(), (int[])Shape.Clone())
        : FromLongs((long[])Longs.Clone(), (int[])Shape.Clone(), DataType);

    /// <summary>The elements as int64 (integer values as stored; float values must be integral).</summary>
    public long[] ToLongs(string context)
    {
        if (!IsFloat) return Longs;
        var result = new long[Floats.Length];
        for (int i = 0; i < result.Length; i++)
        {
            float f = Floats[i];
            if (f != MathF.Floor(f) || float.IsInfinity(f)) throw new ShapeException($"{context}: expected integers but got {f}");
            result[i] = (long)f;
        }
        return result;
    }

    /// <summary>The single element as a double (for scalar inputs such as Clip's min or Dropout's ratio).</summary>
    public double ScalarAsDouble(string context)
    {
        if (Count != 1) throw new ShapeException($"{context}: expected a single value but got shape {CnnSharp.Shape.Format(Shape)}");
        return IsFloat ? Floats[0] : Longs[0];
    }

    /// <summary>Whether floating-point types map to float32 storage.</summary>
    public static bool IsFloatingType(OnnxDataType type) =>
        type is OnnxDataType.Float or OnnxDataType.Double or OnnxDataType.Float16 or OnnxDataType.BFloat16;

    /// <summary>Product of <paramref name="shape"/> (overflow-checked); 0 when any dimension is 0, however large the
    /// others (an empty tensor, as in ONNX and PyTorch).</summary>
    public static int Numel(ReadOnlySpan<int> shape)
    {
        foreach (int d in shape)
            if (d < 0) throw new ShapeException($"negative dimension {d} in shape {CnnSharp.Shape.Format(shape)}");
        // Dimensions before a zero must not overflow the running product: (2, 1073741823, 0) holds no elements.
        if (shape.Contains(0)) return 0;
        long n = 1;
        foreach (int d in shape)
        {
            n *= d;
            if (n > Array.MaxLength) throw new ShapeException($"shape {CnnSharp.Shape.Format(shape)} has more than {Array.MaxLength} elements");
        }
        return (int)n;
    }

    /// <summary><c>(2, 3) FLOAT</c>.</summary>
    public override string ToString() => $"{CnnSharp.Shape.Format(Shape)} {DataType.ToString().ToUpperInvariant()}";

    private static void CheckCount(int length, int[] shape)
    {
        if (length != Numel(shape))
            throw new ShapeException($"OnnxValue: {length} elements do not fill shape {CnnSharp.Shape.Format(shape)}");
    }
}
