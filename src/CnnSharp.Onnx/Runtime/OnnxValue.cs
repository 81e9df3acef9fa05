namespace CnnSharp.Onnx.Runtime;

/// <summary>
/// A tensor flowing through an executing ONNX graph: element type, shape and row-major storage. Floating-point values
/// (FLOAT, DOUBLE, FLOAT16, BFLOAT16) compute in float32 and are held in <see cref="Floats"/>; integer and BOOL values
/// are held as int64 in <see cref="Longs"/> (BOOL as 0/1), with <see cref="DataType"/> recording the declared type.
/// </summary>
internal sealed class OnnxValue
{
    private OnnxValue(OnnxDataType dataType, int[] shape, float[]? floats, long[]? longs)
    {
        DataType = dataType;
        Shape = shape;
        Floats = floats!;
        Longs = longs!;
    }

    /// <summary>The element type (FLOAT for every floating-point value).</summary>
    public OnnxDataType DataType { get; }

    /// <summary>The dimensions, outermost first. Not to be modified.</summary>
    public int[] Shape { get; }

    /// <summary>The float32 elements; only valid when <see cref="IsFloat"/>.</summary>
    public float[] Floats { get; }

    /// <summary>The int64 elements (BOOL as 0/1); only valid when not <see cref="IsFloat"/>.</summary>
    public long[] Longs { get; }

    /// <summary>True when the value holds float32 data.</summary>
    public bool IsFloat => DataType == OnnxDataType.Float;

    /// <summary>Number of elements.</summary>
    public int Count => IsFloat ? Floats.Length : Longs.Length;

    /// <summary>Number of dimensions.</summary>
    public int Rank => Shape.Length;

    /// <summary>The storage array (float[] or long[]).</summary>
    public Array Storage => IsFloat ? Floats : Longs;

    /// <summary>A float value over <paramref name="data"/> (not copied).</summary>
    public static OnnxValue FromFloats(float[] data, int[] shape)
    {
        CheckCount(data.Length, shape);
        return new OnnxValue(OnnxDataType.Float, shape, data, null);
    }

    /// <summary>An integer or BOOL value over <paramref name="data"/> (not copied).</summary>
    public static OnnxValue FromLongs(long[] data, int[] shape, OnnxDataType dataType = OnnxDataType.Int64)
    {
        CheckCount(data.Length, shape);
        if (IsFloatingType(dataType)) throw new ArgumentException($"OnnxValue: {dataType} is not an integer type", nameof(dataType));
        return new OnnxValue(dataType, shape, null, data);
    }

    /// <summary>An uninitialized value of <paramref name="dataType"/> (floating types become FLOAT).</summary>
    public static OnnxValue Create(OnnxDataType dataType, int[] shape)
    {
        int n = Numel(shape);
        return IsFloatingType(dataType)
            ? new OnnxValue(OnnxDataType.Float, shape, new float[n], null)
            : new OnnxValue(dataType, shape, null, new long[n]);
    }

    /// <summary>Converts a decoded ONNX tensor (copying its elements).</summary>
    public static OnnxValue FromTensor(OnnxTensor tensor)
    {
        int[] shape = tensor.Shape.ToArray();
        return tensor.IsFloatingPoint
            ? new OnnxValue(OnnxDataType.Float, shape, tensor.ToFloatArray(), null)
            : new OnnxValue(tensor.DataType, shape, null, tensor.ToInt64Array());
    }

    /// <summary>Converts to an <see cref="OnnxTensor"/> (FLOAT, or this value's integer/BOOL type).</summary>
    public OnnxTensor ToOnnxTensor(string name) => IsFloat
        ? OnnxTensor.FromFloats(name, Floats, new CnnSharp.Shape(Shape))
        : OnnxTensor.FromInt64(name, Longs, new CnnSharp.Shape(Shape), DataType);

    /// <summary>A deep copy.</summary>
    public OnnxValue Clone() => IsFloat
        ? new OnnxValue(DataType, (int[])Shape.Clone(), (float[])Floats.Clone(), null)
        : new OnnxValue(DataType, (int[])Shape.Clone(), null, (long[])Longs.Clone());

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

    /// <summary>Product of <paramref name="shape"/> (overflow-checked).</summary>
    public static int Numel(ReadOnlySpan<int> shape)
    {
        long n = 1;
        foreach (int d in shape)
        {
            if (d < 0) throw new ShapeException($"negative dimension {d} in shape {CnnSharp.Shape.Format(shape)}");
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
