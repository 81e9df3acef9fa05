using System.Numerics.Tensors;
using CnnSharp.Functional;
using CnnSharp.Kernels;
using CnnSharp.Onnx.Runtime;

namespace CnnSharp.Onnx.Ops;

/// <summary>
/// Add, Sub, Mul, Div, Pow: <c>y = a ∘ b</c> element-wise with NumPy broadcasting (opset 7 on). Before opset 7 the
/// legacy form applies: <c>broadcast=1</c> lets b (a suffix of a's shape, or a run of it starting at <c>axis</c>) be
/// repeated over a; without it the shapes must be equal.
/// </summary>
/// <remarks>Float and integer (INT64/INT32/...) operands; integer division truncates toward zero. Pow takes any numeric
/// exponent type (converted to the base's).</remarks>
internal sealed class BinaryOp : OnnxOp
{
    private readonly Arithmetic _kind;
    private readonly string _name;
    private readonly bool _legacy;
    private readonly bool _legacyBroadcast;
    private readonly int? _legacyAxis;

    public BinaryOp(OpBuilder b, Arithmetic kind)
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
    public Arithmetic Kind => _kind;

    /// <summary>Whether the pre-opset-7 broadcast rule applies (so the operands may need aligning first).</summary>
    public bool IsLegacy => _legacy;

    public override void Execute(OpContext ctx, ReadOnlySpan<OnnxValue?> inputs, Span<OnnxValue?> outputs)
    {
        var a = inputs[0]!;
        var b = inputs[1]!;
        if (_legacy) b = LegacyAlign(a, b);
        if (_kind == Arithmetic.Pow && a.IsFloat != b.IsFloat) b = Convert(b, a.IsFloat);
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

    /// <summary>
    /// <c>a ∘ b</c> with broadcasting into a fresh value, row by row over the library's <see cref="BroadcastRows"/> (float
    /// rows through <see cref="BinaryKernels.Forward"/>, as F's element-wise ops).
    /// </summary>
    public static OnnxValue Compute(OpContext ctx, Arithmetic kind, OnnxValue a, OnnxValue b, string op)
    {
        if (a.IsFloat != b.IsFloat)
            throw new ShapeException($"{op}: operand types {a.DataType.ToString().ToUpperInvariant()} and {b.DataType.ToString().ToUpperInvariant()} differ");
        int[] shape = Broadcast.ResultShape(a.Shape, b.Shape, op);
        var y = ctx.Like(a, shape);
        if (y.Count == 0) return y;
        var rows = new BroadcastRows(new Shape(a.Shape), new Shape(b.Shape), new Shape(shape));
        for (int r = 0; r < rows.Count; r++)
        {
            var row = rows.Row(r);
            if (a.IsFloat)
            {
                BinaryKernels.Forward(kind, rows.A(a.Floats, row), rows.B(b.Floats, row), y.Floats.AsSpan(row.Start, row.Length));
                continue;
            }
            ReadOnlySpan<long> x1 = rows.A(a.Longs, row), x2 = rows.B(b.Longs, row);
            var yy = y.Longs.AsSpan(row.Start, row.Length);
            for (int i = 0; i < yy.Length; i++) yy[i] = Apply(kind, x1[rows.AScalar ? 0 : i], x2[rows.BScalar ? 0 : i], op);
        }
        return y;
    }

    private static long Apply(Arithmetic kind, long x, long y, string op) => kind switch
    {
        Arithmetic.Add => x + y,
        Arithmetic.Sub => x - y,
        Arithmetic.Mul => x * y,
        Arithmetic.Div => y == 0 ? throw new ShapeException($"{op}: integer division by zero") : x / y,
        Arithmetic.Pow => (long)Math.Pow(x, y),
        Arithmetic.Max => Math.Max(x, y),
        _ => Math.Min(x, y),
    };
}

/// <summary>
/// Max, Min, Sum, Mean over one or more inputs (variadic), element-wise with NumPy broadcasting:
/// <c>y = x0 ∘ x1 ∘ ...</c>, Mean dividing the sum by the input count.
/// </summary>
internal sealed class VariadicOp : OnnxOp
{
    private readonly Arithmetic _kind;
    private readonly bool _mean;
    private readonly string _name;

    public VariadicOp(OpBuilder b, Arithmetic kind, bool mean)
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
