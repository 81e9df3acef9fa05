using CnnSharp.Functional;
using System.Numerics.Tensors;
using CnnSharp.Onnx.Runtime;

namespace CnnSharp.Onnx.Ops;

/// <summary>The element-wise unary operations.</summary>
internal enum UnaryKind
{
    Relu,
    LeakyRelu,
    Sigmoid,
    HardSigmoid,
    HardSwish,
    Tanh,
    Elu,
    Selu,
    Celu,
    ThresholdedRelu,
    Softplus,
    Softsign,
    Exp,
    Log,
    Sqrt,
    Abs,
    Neg,
    Reciprocal,
    Sign,
    Floor,
    Ceil,
    Round,
}

/// <summary>
/// Element-wise unary operators <c>y[i] = f(x[i])</c>: activations (Relu, LeakyRelu(alpha=0.01), Sigmoid,
/// HardSigmoid(alpha=0.2, beta=0.5) = max(0, min(1, alpha·x + beta)), HardSwish = x·HardSigmoid(1/6, 1/2), Tanh,
/// Elu(alpha=1) = x &gt; 0 ? x : alpha·(eˣ − 1), Selu(alpha≈1.6733, gamma≈1.0507) = gamma·Elu(alpha),
/// Celu(alpha=1) = max(0, x) + min(0, alpha·(e^(x/alpha) − 1)), ThresholdedRelu(alpha=1) = x &gt; alpha ? x : 0,
/// Softplus = ln(1 + eˣ), Softsign = x / (1 + |x|)) and math (Exp, Log, Sqrt, Abs, Neg, Reciprocal, Sign, Floor, Ceil,
/// Round half to even). Abs, Neg, Sign and Relu also accept integer tensors.
/// </summary>
internal sealed class UnaryOp : OnnxOp
{
    private readonly UnaryKind _kind;
    private readonly string _name;
    private readonly float _alpha;
    private readonly float _beta;
    private readonly float _gamma;

    public UnaryOp(OpBuilder b, UnaryKind kind)
    {
        _kind = kind;
        _name = b.Node.OpType;
        b.Inputs(1, 1);
        b.Outputs(1);
        if (b.Opset < 6) b.Ignore("consumed_inputs");
        switch (kind)
        {
            case UnaryKind.LeakyRelu: _alpha = b.Float("alpha", 0.01f); break;
            case UnaryKind.HardSigmoid: _alpha = b.Float("alpha", 0.2f); _beta = b.Float("beta", 0.5f); break;
            case UnaryKind.Elu: _alpha = b.Float("alpha", 1f); break;
            case UnaryKind.Celu:
                _alpha = b.Float("alpha", 1f);
                if (_alpha == 0) throw b.Unsupported("attribute 'alpha' = 0 is not valid (Celu divides by alpha)", "alpha");
                break;
            case UnaryKind.ThresholdedRelu: _alpha = b.Float("alpha", 1f); break;
            case UnaryKind.Selu:
                // ONNX's defaults, the float32 roundings of SELU's constants.
                _alpha = b.Float("alpha", 1.67326319217681884765625f);
                _gamma = b.Float("gamma", 1.05070102214813232421875f);
                break;
        }
    }

    /// <summary>Which operation this is.</summary>
    public UnaryKind Kind => _kind;

    public override void Execute(OpContext ctx, ReadOnlySpan<OnnxValue?> inputs, Span<OnnxValue?> outputs)
    {
        var x = inputs[0]!;
        var y = ctx.Like(x, (int[])x.Shape.Clone());
        if (x.IsFloat) Apply(x.Floats, y.Floats);
        else ApplyInteger(x.Longs, y.Longs);
        outputs[0] = y;
    }

    private void Apply(ReadOnlySpan<float> x, Span<float> y)
    {
        switch (_kind)
        {
            case UnaryKind.Relu: TensorPrimitives.Max(x, 0f, y); break;
            case UnaryKind.Sigmoid: TensorPrimitives.Sigmoid(x, y); break;
            case UnaryKind.Tanh: TensorPrimitives.Tanh(x, y); break;
            case UnaryKind.Exp: TensorPrimitives.Exp(x, y); break;
            case UnaryKind.Log: TensorPrimitives.Log(x, y); break;
            case UnaryKind.Sqrt: TensorPrimitives.Sqrt(x, y); break;
            case UnaryKind.Abs: TensorPrimitives.Abs(x, y); break;
            case UnaryKind.Neg: TensorPrimitives.Negate(x, y); break;
            case UnaryKind.Reciprocal: TensorPrimitives.Divide(1f, x, y); break;
            case UnaryKind.Floor: TensorPrimitives.Floor(x, y); break;
            case UnaryKind.Ceil: TensorPrimitives.Ceiling(x, y); break;
            default:
                for (int i = 0; i < x.Length; i++) y[i] = Scalar(x[i]);
                break;
        }
    }

    private float Scalar(float v) => _kind switch
    {
        UnaryKind.LeakyRelu => v < 0 ? _alpha * v : v,
        UnaryKind.HardSigmoid => Math.Clamp(_alpha * v + _beta, 0f, 1f),
        UnaryKind.HardSwish => v * Math.Clamp(v / 6f + 0.5f, 0f, 1f),
        UnaryKind.Elu => v > 0 ? v : _alpha * (MathF.Exp(v) - 1f),
        UnaryKind.Selu => _gamma * (v > 0 ? v : _alpha * (MathF.Exp(v) - 1f)),
        UnaryKind.Celu => Math.Max(0f, v) + Math.Min(0f, _alpha * (MathF.Exp(v / _alpha) - 1f)),
        UnaryKind.ThresholdedRelu => v > _alpha ? v : 0f,
        // ln(1 + e^v) without overflow for large v.
        UnaryKind.Softplus => v > 0 ? v + (float)Math.Log(1 + Math.Exp(-v)) : (float)Math.Log(1 + Math.Exp(v)),
        UnaryKind.Softsign => v / (1f + MathF.Abs(v)),
        UnaryKind.Sign => float.IsNaN(v) ? v : MathF.Sign(v),
        UnaryKind.Round => MathF.Round(v, MidpointRounding.ToEven),
        _ => throw new InvalidOperationException($"{_name}: no scalar form"),
    };

    private void ApplyInteger(ReadOnlySpan<long> x, Span<long> y)
    {
        for (int i = 0; i < x.Length; i++)
        {
            y[i] = _kind switch
            {
                UnaryKind.Relu => Math.Max(x[i], 0),
                UnaryKind.Abs => Math.Abs(x[i]),
                UnaryKind.Neg => -x[i],
                UnaryKind.Sign => Math.Sign(x[i]),
                UnaryKind.Floor or UnaryKind.Ceil or UnaryKind.Round => x[i],
                _ => throw new ShapeException($"{_name}: integer input is not supported; expected a floating-point tensor"),
            };
        }
    }
}

/// <summary>
/// Clip: <c>y = min(max(x, min), max)</c>. Before opset 11 the bounds are the attributes <c>min</c>/<c>max</c>
/// (default ∓∞); from opset 11 they are optional scalar inputs 1 and 2.
/// </summary>
internal sealed class ClipOp : OnnxOp
{
    private readonly float _min = float.NegativeInfinity;
    private readonly float _max = float.PositiveInfinity;
    private readonly bool _attributeForm;

    public ClipOp(OpBuilder b)
    {
        b.Outputs(1);
        if (b.Opset < 11)
        {
            b.Inputs(1, 1);
            _attributeForm = true;
            _min = b.Float("min", float.NegativeInfinity);
            _max = b.Float("max", float.PositiveInfinity);
            if (b.Opset < 6) b.Ignore("consumed_inputs");
        }
        else
        {
            b.Inputs(1, 3);
        }
    }

    /// <summary>
    /// The bounds when they are fixed at load time (the attributes, or inputs 1 and 2 omitted or scalar float constants),
    /// for fusing the Clip into the operator before it; false when a bound is computed at run time.
    /// </summary>
    /// <param name="inputIds">The step's value ids (-1: omitted).</param>
    /// <param name="constants">The load-time constants by value id.</param>
    /// <param name="min">The lower bound (−∞ when omitted).</param>
    /// <param name="max">The upper bound (+∞ when omitted).</param>
    internal bool TryFixedBounds(ReadOnlySpan<int> inputIds, OnnxValue?[] constants, out float min, out float max)
    {
        var ids = inputIds.ToArray();
        return TryFixedBounds(ids.Length, k => (ids[k] >= 0, ids[k] >= 0 ? constants[ids[k]] : null), out min, out max);
    }

    /// <summary>As the other overload, with each input k ≥ 1 given as whether it is present and its load-time value (null when computed at run time).</summary>
    internal bool TryFixedBounds(int inputCount, Func<int, (bool Present, OnnxValue? Constant)> input, out float min, out float max)
    {
        min = _min;
        max = _max;
        if (_attributeForm) return true;
        for (int k = 1; k < inputCount; k++)
        {
            var (present, constant) = input(k);
            if (!present) continue;
            if (constant is not { IsFloat: true, Count: 1 } bound) return false;
            if (k == 1) min = bound.Floats[0];
            else max = bound.Floats[0];
        }
        return true;
    }

    public override void Execute(OpContext ctx, ReadOnlySpan<OnnxValue?> inputs, Span<OnnxValue?> outputs)
    {
        var x = inputs[0]!;
        double lo = _attributeForm || inputs.Length < 2 || inputs[1] is null ? _min : inputs[1]!.ScalarAsDouble("Clip min");
        double hi = _attributeForm || inputs.Length < 3 || inputs[2] is null ? _max : inputs[2]!.ScalarAsDouble("Clip max");
        var y = ctx.Like(x, (int[])x.Shape.Clone());
        if (x.IsFloat)
        {
            // max then min, as ONNX specifies (min > max gives max everywhere).
            TensorPrimitives.Max(x.Floats, (float)lo, y.Floats);
            TensorPrimitives.Min(y.Floats, (float)hi, y.Floats);
        }
        else
        {
            for (int i = 0; i < x.Count; i++) y.Longs[i] = (long)Math.Min(Math.Max(x.Longs[i], lo), hi);
        }
        outputs[0] = y;
    }
}

/// <summary>
/// PRelu: <c>y = x &lt; 0 ? slope·x : x</c>, slope broadcast to x (unidirectionally, opset 7 on). Before opset 7 a
/// slope of one value is shared and a 1-D slope of x's channel count applies per channel (dimension 1).
/// </summary>
internal sealed class PReluOp : OnnxOp
{
    private readonly bool _legacy;

    public PReluOp(OpBuilder b)
    {
        b.Inputs(2, 2);
        b.Outputs(1);
        _legacy = b.Opset < 7;
        if (b.Opset < 6) b.Ignore("consumed_inputs");
    }

    public override void Execute(OpContext ctx, ReadOnlySpan<OnnxValue?> inputs, Span<OnnxValue?> outputs)
    {
        var x = inputs[0]!;
        var slope = inputs[1]!;
        if (!x.IsFloat || !slope.IsFloat) throw new ShapeException("PRelu: expected floating-point input and slope");
        int[] slopeShape = slope.Shape;
        if (_legacy && slope.Count != 1 && slope.Rank == 1 && x.Rank >= 2 && slope.Count == x.Shape[1])
            slopeShape = [slope.Count, .. Enumerable.Repeat(1, x.Rank - 2)];
        if (!Broadcast.BroadcastsTo(slopeShape, x.Shape))
            throw new ShapeException($"PRelu: slope of shape {Shape.Format(slope.Shape)} does not broadcast to input {Shape.Format(x.Shape)}");
        var y = ctx.Floats((int[])x.Shape.Clone());
        var rows = new BroadcastRows(new Shape(x.Shape), new Shape(slopeShape), new Shape(x.Shape));
        for (int r = 0; r < rows.Count; r++)
        {
            var row = rows.Row(r);
            ReadOnlySpan<float> xs = rows.A(x.Floats, row), ss = rows.B(slope.Floats, row);
            var ys = y.Floats.AsSpan(row.Start, row.Length);
            for (int i = 0; i < ys.Length; i++)
            {
                float v = xs[i];
                ys[i] = v < 0 ? ss[rows.BScalar ? 0 : i] * v : v;
            }
        }
        outputs[0] = y;
    }
}
