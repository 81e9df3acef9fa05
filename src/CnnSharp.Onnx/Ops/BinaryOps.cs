using System.Numerics.Tensors;
using CnnSharp.Onnx.Runtime;

namespace CnnSharp.Onnx.Ops;

/// <summary>The element-wise binary operations.</summary>
internal enum BinaryKind
{
    Add,
    Sub,
    Mul,
    Div,
    Pow,
    Max,
    Min,
}

/// <summary>
/// Add, Sub, Mul, Div, Pow: <c>y = a ∘ b</c> element-wise with NumPy broadcasting (opset 7 on). Before opset 7 the
/// legacy form applies: <c>broadcast=1</c> lets b (a suffix of a's shape, or a run of it starting at <c>axis</c>) be
/// repeated over a; without it the shapes must be equal.
/// </summary>
/// <remarks>Float and integer (INT64/INT32/...) operands; integer division truncates toward zero. Pow takes any numeric
/// exponent type (converted to the base's).</remarks>
internal sealed class BinaryOp : OnnxOp
{
    private readonly BinaryKind _kind;
    private readonly string _name;
    private readonly bool _legacy;
    private readonly bool _legacyBroadcast;
    private readonly int? _legacyAxis;

    public BinaryOp(OpBuilder b, BinaryKind kind)
    {
        _kind = kind;
        _name = b.Node.OpType;
        b.Inputs(2, 2);
        b.Outputs(1);
        if (b.Opset < 7)
        {
            _legacy = true;
            _legacyBroadcast = b.Flag("broadcast", false);
            if (b.Has("axis")) _legacyAxis = (int)b.Int("axis", 0);
            b.Ignore("consumed_inputs");
        }
    }

    /// <summary>Which operation this is.</summary>
    public BinaryKind Kind => _kind;

    /// <summary>Whether the pre-opset-7 broadcast rule applies (so the operands may need aligning first).</summary>
    public bool IsLegacy => _legacy;

    public override void Execute(OpContext ctx, ReadOnlySpan<OnnxValue?> inputs, Span<OnnxValue?> outputs)
    {
        var a = inputs[0]!;
        var b = inputs[1]!;
        if (_legacy) b = LegacyAlign(a, b);
        if (_kind == BinaryKind.Pow && a.IsFloat != b.IsFloat) b = Convert(b, a.IsFloat);
        outputs[0] = Compute(ctx, _kind, a, b, _name);
    }

    /// <summary>Reshapes b for the pre-opset-7 broadcast rule so NumPy broadcasting gives the same result.</summary>
    private OnnxValue LegacyAlign(OnnxValue a, OnnxValue b)
    {
        if (!_legacyBroadcast)
        {
            if (!a.Shape.AsSpan().SequenceEqual(b.Shape))
                throw new ShapeException($"{_name}: shapes {Shape.Format(a.Shape)} and {Shape.Format(b.Shape)} differ and broadcast is 0");
            return b;
        }
        if (_legacyAxis is not int axis) return b;
        if (axis < 0) axis += a.Rank;
        int trailing = a.Rank - axis - b.Rank;
        if (axis < 0 || trailing < 0)
            throw new ShapeException($"{_name}: axis {_legacyAxis} does not place shape {Shape.Format(b.Shape)} inside {Shape.Format(a.Shape)}");
        if (trailing == 0) return b;
        int[] shape = [.. b.Shape, .. Enumerable.Repeat(1, trailing)];
        return b.IsFloat ? OnnxValue.FromFloats(b.Floats, shape) : OnnxValue.FromLongs(b.Longs, shape, b.DataType);
    }

    private static OnnxValue Convert(OnnxValue v, bool toFloat)
    {
        if (toFloat)
        {
            var f = new float[v.Count];
            for (int i = 0; i < f.Length; i++) f[i] = v.Longs[i];
            return OnnxValue.FromFloats(f, v.Shape);
        }
        var l = new long[v.Count];
        for (int i = 0; i < l.Length; i++) l[i] = (long)v.Floats[i];
        return OnnxValue.FromLongs(l, v.Shape);
    }

    /// <summary><c>a ∘ b</c> with broadcasting into a fresh value.</summary>
    public static OnnxValue Compute(OpContext ctx, BinaryKind kind, OnnxValue a, OnnxValue b, string op)
    {
        if (a.IsFloat != b.IsFloat)
            throw new ShapeException($"{op}: operand types {a.DataType.ToString().ToUpperInvariant()} and {b.DataType.ToString().ToUpperInvariant()} differ");
        int[] shape = Broadcasting.Shape(a.Shape, b.Shape, op);
        var y = ctx.Like(a, shape);
        if (y.Count == 0) return y;
        var sa = Broadcasting.Strides(a.Shape, shape);
        var sb = Broadcasting.Strides(b.Shape, shape);
        int rank = shape.Length;
        int length = rank == 0 ? 1 : shape[rank - 1];
        int stepA = rank == 0 ? 0 : sa[rank - 1], stepB = rank == 0 ? 0 : sb[rank - 1];
        if (a.IsFloat)
        {
            float[] x1 = a.Floats, x2 = b.Floats, yy = y.Floats;
            if (a.Count == y.Count && b.Count == y.Count)
            {
                Row(kind, x1, 0, 1, x2, 0, 1, yy.AsSpan());
                return y;
            }
            Broadcasting.ForEachRow(shape, sa, sb, (o, ao, bo) => Row(kind, x1, ao, stepA, x2, bo, stepB, yy.AsSpan(o, length)));
        }
        else
        {
            long[] x1 = a.Longs, x2 = b.Longs, yy = y.Longs;
            Broadcasting.ForEachRow(shape, sa, sb, (o, ao, bo) =>
            {
                for (int i = 0; i < length; i++) yy[o + i] = Apply(kind, x1[ao + i * stepA], x2[bo + i * stepB], op);
            });
        }
        return y;
    }

    /// <summary>One output row: steps are 1 (a contiguous run) or 0 (one value repeated).</summary>
    private static void Row(BinaryKind kind, float[] a, int ao, int stepA, float[] b, int bo, int stepB, Span<float> y)
    {
        int n = y.Length;
        if (stepA == 1 && stepB == 1)
        {
            ReadOnlySpan<float> x1 = a.AsSpan(ao, n), x2 = b.AsSpan(bo, n);
            switch (kind)
            {
                case BinaryKind.Add: TensorPrimitives.Add(x1, x2, y); break;
                case BinaryKind.Sub: TensorPrimitives.Subtract(x1, x2, y); break;
                case BinaryKind.Mul: TensorPrimitives.Multiply(x1, x2, y); break;
                case BinaryKind.Div: TensorPrimitives.Divide(x1, x2, y); break;
                case BinaryKind.Pow: for (int i = 0; i < n; i++) y[i] = MathF.Pow(x1[i], x2[i]); break;
                case BinaryKind.Max: TensorPrimitives.Max(x1, x2, y); break;
                case BinaryKind.Min: TensorPrimitives.Min(x1, x2, y); break;
            }
        }
        else if (stepA == 1)
        {
            ReadOnlySpan<float> x1 = a.AsSpan(ao, n);
            float s = b[bo];
            switch (kind)
            {
                case BinaryKind.Add: TensorPrimitives.Add(x1, s, y); break;
                case BinaryKind.Sub: TensorPrimitives.Subtract(x1, s, y); break;
                case BinaryKind.Mul: TensorPrimitives.Multiply(x1, s, y); break;
                case BinaryKind.Div: TensorPrimitives.Divide(x1, s, y); break;
                case BinaryKind.Pow: for (int i = 0; i < n; i++) y[i] = MathF.Pow(x1[i], s); break;
                case BinaryKind.Max: TensorPrimitives.Max(x1, s, y); break;
                case BinaryKind.Min: TensorPrimitives.Min(x1, s, y); break;
            }
        }
        else if (stepB == 1)
        {
            ReadOnlySpan<float> x2 = b.AsSpan(bo, n);
            float s = a[ao];
            switch (kind)
            {
                case BinaryKind.Add: TensorPrimitives.Add(x2, s, y); break;
                case BinaryKind.Sub: TensorPrimitives.Subtract(s, x2, y); break;
                case BinaryKind.Mul: TensorPrimitives.Multiply(x2, s, y); break;
                case BinaryKind.Div: TensorPrimitives.Divide(s, x2, y); break;
                case BinaryKind.Pow: for (int i = 0; i < n; i++) y[i] = MathF.Pow(s, x2[i]); break;
                case BinaryKind.Max: TensorPrimitives.Max(x2, s, y); break;
                case BinaryKind.Min: TensorPrimitives.Min(x2, s, y); break;
            }
        }
        else
        {
            y.Fill(Apply(kind, a[ao], b[bo]));
        }
    }

    /// <summary>The scalar float operation (NaN propagates through Max and Min, as TensorPrimitives does on the vector path).</summary>
    public static float Apply(BinaryKind kind, float x, float y) => kind switch
    {
        BinaryKind.Add => x + y,
        BinaryKind.Sub => x - y,
        BinaryKind.Mul => x * y,
        BinaryKind.Div => x / y,
        BinaryKind.Pow => MathF.Pow(x, y),
        BinaryKind.Max => float.IsNaN(x) || float.IsNaN(y) ? float.NaN : Math.Max(x, y),
        _ => float.IsNaN(x) || float.IsNaN(y) ? float.NaN : Math.Min(x, y),
    };

    private static long Apply(BinaryKind kind, long x, long y, string op) => kind switch
    {
        BinaryKind.Add => x + y,
        BinaryKind.Sub => x - y,
        BinaryKind.Mul => x * y,
        BinaryKind.Div => y == 0 ? throw new ShapeException($"{op}: integer division by zero") : x / y,
        BinaryKind.Pow => (long)Math.Pow(x, y),
        BinaryKind.Max => Math.Max(x, y),
        _ => Math.Min(x, y),
    };
}

/// <summary>
/// Max, Min, Sum, Mean over one or more inputs (variadic), element-wise with NumPy broadcasting:
/// <c>y = x0 ∘ x1 ∘ ...</c>, Mean dividing the sum by the input count.
/// </summary>
internal sealed class VariadicOp : OnnxOp
{
    private readonly BinaryKind _kind;
    private readonly bool _mean;
    private readonly string _name;

    public VariadicOp(OpBuilder b, BinaryKind kind, bool mean)
    {
        _kind = kind;
        _mean = mean;
        _name = b.Node.OpType;
        b.Inputs(1, int.MaxValue);
        b.Outputs(1);
        if (b.Opset < 6) b.Ignore("consumed_inputs");
    }

    public override void Execute(OpContext ctx, ReadOnlySpan<OnnxValue?> inputs, Span<OnnxValue?> outputs)
    {
        var acc = inputs[0]!;
        if (inputs.Length == 1)
        {
            outputs[0] = ctx.Copy(acc);
            return;
        }
        var scratch = ctx.Unpooled();
        for (int i = 1; i < inputs.Length; i++)
        {
            var next = inputs[i] ?? throw new ShapeException($"{_name}: input #{i} is empty");
            acc = BinaryOp.Compute(i == inputs.Length - 1 && !_mean ? ctx : scratch, _kind, acc, next, _name);
        }
        if (_mean)
        {
            var y = ctx.Like(acc, acc.Shape);
            if (acc.IsFloat) TensorPrimitives.Divide(acc.Floats, inputs.Length, y.Floats);
            else for (int i = 0; i < y.Count; i++) y.Longs[i] = acc.Longs[i] / inputs.Length;
            acc = y;
        }
        outputs[0] = acc;
    }
}
