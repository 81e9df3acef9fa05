using System.Numerics.Tensors;
using CnnSharp.Autograd;
using CnnSharp.Compile;

namespace CnnSharp.Functional;

/// <summary>
/// Functional operations with PyTorch's semantics (<c>torch.nn.functional</c> and basic tensor maths). Every op records its
/// backward node when grad mode is on and an input requires grad.
/// </summary>
public static partial class F
{
    internal enum BinaryKind { Add, Sub, Mul, Div }

    /// <summary>Element-wise <c>a + b</c> with broadcasting.</summary>
    /// <exception cref="ShapeException">The shapes cannot be broadcast.</exception>
    public static Tensor Add(Tensor a, Tensor b) => Binary(a, b, BinaryKind.Add, "Add");

    /// <summary>Element-wise <c>a - b</c> with broadcasting.</summary>
    /// <exception cref="ShapeException">The shapes cannot be broadcast.</exception>
    public static Tensor Sub(Tensor a, Tensor b) => Binary(a, b, BinaryKind.Sub, "Sub");

    /// <summary>Element-wise <c>a * b</c> with broadcasting.</summary>
    /// <exception cref="ShapeException">The shapes cannot be broadcast.</exception>
    public static Tensor Mul(Tensor a, Tensor b) => Binary(a, b, BinaryKind.Mul, "Mul");

    /// <summary>Element-wise <c>a / b</c> with broadcasting.</summary>
    /// <exception cref="ShapeException">The shapes cannot be broadcast.</exception>
    public static Tensor Div(Tensor a, Tensor b) => Binary(a, b, BinaryKind.Div, "Div");

    /// <summary><c>x * scale + shift</c> element-wise (scalar affine map).</summary>
    public static Tensor Affine(Tensor x, float scale, float shift = 0f)
    {
        ArgumentNullException.ThrowIfNull(x);
        var y = Tensor.Uninitialized(x.Shape);
        TensorPrimitives.Multiply(x.Data, scale, y.Data);
        if (shift != 0f) TensorPrimitives.Add(y.Data, shift, y.Data);
        y.SetGradFn(new ScaleBackward(x, scale));
        if (Tracer.Current is not null) TraceAffine(y, scale, shift);
        return y;
    }

    /// <summary>Element-wise <c>exp(x)</c>.</summary>
    public static Tensor Exp(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        var y = Tensor.Uninitialized(x.Shape);
        TensorPrimitives.Exp(x.Data, y.Data);
        y.SetGradFn(new ExpBackward(x, y));
        if (Tracer.Current is not null) Tracer.Describe(y, new EagerSpec(static i => Exp(i[0])));
        return y;
    }

    /// <summary>Element-wise natural logarithm.</summary>
    public static Tensor Log(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        var y = Tensor.Uninitialized(x.Shape);
        TensorPrimitives.Log(x.Data, y.Data);
        y.SetGradFn(new LogBackward(x));
        if (Tracer.Current is not null) Tracer.Describe(y, new EagerSpec(static i => Log(i[0])));
        return y;
    }

    private static Tensor Binary(Tensor a, Tensor b, BinaryKind kind, string op)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (a.Shape == b.Shape)
        {
            var y = Tensor.Uninitialized(a.Shape);
            switch (kind)
            {
                case BinaryKind.Add: TensorPrimitives.Add(a.Data, b.Data, y.Data); break;
                case BinaryKind.Sub: TensorPrimitives.Subtract(a.Data, b.Data, y.Data); break;
                case BinaryKind.Mul: TensorPrimitives.Multiply(a.Data, b.Data, y.Data); break;
                default: TensorPrimitives.Divide(a.Data, b.Data, y.Data); break;
            }
            y.SetGradFn(new BinaryBackward(a, b, kind, a.Shape));
            if (Tracer.Current is not null) TraceBinary(y, kind, op);
            return y;
        }
        var shape = Broadcast.ResultShape(a.Shape, b.Shape, op);
        var result = Tensor.Uninitialized(shape);
        float[] ad = a.Storage, bd = b.Storage, yd = result.Storage;
        Broadcast.ForEach(shape, Broadcast.Strides(a.Shape, shape), Broadcast.Strides(b.Shape, shape), (i, ia, ib) =>
            yd[i] = Apply(kind, ad[ia], bd[ib]));
        result.SetGradFn(new BinaryBackward(a, b, kind, shape));
        if (Tracer.Current is not null) TraceBinary(result, kind, op, broadcast: true);
        return result;
    }

    // Same-shape adds compile (AddSpec); every other binary op runs as an eager island.
    private static void TraceBinary(Tensor y, BinaryKind kind, string op, bool broadcast = false) =>
        Tracer.Describe(y, kind == BinaryKind.Add && !broadcast ? new AddSpec() : new EagerSpec(i => Binary(i[0], i[1], kind, op)));

    private static void TraceAffine(Tensor y, float scale, float shift) => Tracer.Describe(y, new EagerSpec(i => Affine(i[0], scale, shift)));

    internal static float Apply(BinaryKind kind, float x, float y) => kind switch
    {
        BinaryKind.Add => x + y,
        BinaryKind.Sub => x - y,
        BinaryKind.Mul => x * y,
        _ => x / y,
    };
}

file sealed class BinaryBackward(Tensor a, Tensor b, F.BinaryKind kind, Shape outShape) : Node(a, b)
{
    protected internal override void Backward(Tensor gradOutput)
    {
        Span<float> ga = GradOf(a), gb = GradOf(b);
        float[] gaArr = a.RequiresGrad ? a.Grad!.Storage : [], gbArr = b.RequiresGrad ? b.Grad!.Storage : [];
        float[] ad = a.Storage, bd = b.Storage, gy = gradOutput.Storage;
        bool needA = !ga.IsEmpty, needB = !gb.IsEmpty;
        Broadcast.ForEach(outShape, Broadcast.Strides(a.Shape, outShape), Broadcast.Strides(b.Shape, outShape), (i, ia, ib) =>
        {
            float g = gy[i];
            switch (kind)
            {
                case F.BinaryKind.Add:
                    if (needA) gaArr[ia] += g;
                    if (needB) gbArr[ib] += g;
                    break;
                case F.BinaryKind.Sub:
                    if (needA) gaArr[ia] += g;
                    if (needB) gbArr[ib] -= g;
                    break;
                case F.BinaryKind.Mul:
                    if (needA) gaArr[ia] += g * bd[ib];
                    if (needB) gbArr[ib] += g * ad[ia];
                    break;
                default:
                    if (needA) gaArr[ia] += g / bd[ib];
                    if (needB) gbArr[ib] -= g * ad[ia] / (bd[ib] * bd[ib]);
                    break;
            }
        });
    }
}

file sealed class ScaleBackward(Tensor x, float scale) : Node(x)
{
    protected internal override void Backward(Tensor gradOutput)
    {
        var g = GradOf(x);
        if (!g.IsEmpty) TensorPrimitives.MultiplyAdd(gradOutput.Data, scale, g, g);
    }
}

file sealed class ExpBackward(Tensor x, Tensor y) : Node(x)
{
    protected internal override void Backward(Tensor gradOutput)
    {
        var g = GradOf(x);
        if (!g.IsEmpty) TensorPrimitives.MultiplyAdd(gradOutput.Data, y.Data, g, g);
    }
}

file sealed class LogBackward(Tensor x) : Node(x)
{
    protected internal override void Backward(Tensor gradOutput)
    {
        var g = GradOf(x);
        if (g.IsEmpty) return;
        ReadOnlySpan<float> gy = gradOutput.Data, xd = x.Data;
        for (int i = 0; i < g.Length; i++) g[i] += gy[i] / xd[i];
    }
}
