using System.Buffers;
using System.Numerics.Tensors;
using CnnSharp.Autograd;
using CnnSharp.Compile;
using CnnSharp.Kernels;

namespace CnnSharp.Functional;

/// <summary>
/// Functional operations with PyTorch's semantics (<c>torch.nn.functional</c> and basic tensor maths). Every op records its
/// backward node when grad mode is on and an input requires grad.
/// </summary>
public static partial class F
{
    /// <summary>Element-wise <c>a + b</c> with broadcasting.</summary>
    /// <exception cref="ShapeException">The shapes cannot be broadcast.</exception>
    public static Tensor Add(Tensor a, Tensor b) => Binary(a, b, Arithmetic.Add, "Add");

    /// <summary>Element-wise <c>a - b</c> with broadcasting.</summary>
    /// <exception cref="ShapeException">The shapes cannot be broadcast.</exception>
    public static Tensor Sub(Tensor a, Tensor b) => Binary(a, b, Arithmetic.Sub, "Sub");

    /// <summary>Element-wise <c>a * b</c> with broadcasting.</summary>
    /// <exception cref="ShapeException">The shapes cannot be broadcast.</exception>
    public static Tensor Mul(Tensor a, Tensor b) => Binary(a, b, Arithmetic.Mul, "Mul");

    /// <summary>Element-wise <c>a / b</c> with broadcasting.</summary>
    /// <exception cref="ShapeException">The shapes cannot be broadcast.</exception>
    public static Tensor Div(Tensor a, Tensor b) => Binary(a, b, Arithmetic.Div, "Div");

    /// <summary><c>x * scale + shift</c> element-wise (scalar affine map).</summary>
    public static Tensor Affine(Tensor x, float scale, float shift = 0f)
    {
        ArgumentNullException.ThrowIfNull(x);
        var y = Tensor.Uninitialized(x.Shape);
        ElementBlocks.Map(x.Storage, y.Storage, (input, output) =>
        {
            TensorPrimitives.Multiply(input, scale, output);
            if (shift != 0f) TensorPrimitives.Add(output, shift, output);
        });
        y.SetGradFn(new ScaleBackward(x, scale));
        if (Tracer.Current is not null) TraceAffine(y, scale, shift);
        return y;
    }

    /// <summary>Element-wise <c>exp(x)</c>.</summary>
    public static Tensor Exp(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        var y = Tensor.Uninitialized(x.Shape);
        ElementBlocks.Map(x.Storage, y.Storage, TensorPrimitives.Exp);
        y.SetGradFn(new ExpBackward(x, y));
        if (Tracer.Current is not null) Tracer.Describe(y, new UnarySpec("Exp", static i => Exp(i[0])));
        return y;
    }

    /// <summary>Element-wise natural logarithm.</summary>
    public static Tensor Log(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        var y = Tensor.Uninitialized(x.Shape);
        ElementBlocks.Map(x.Storage, y.Storage, TensorPrimitives.Log);
        y.SetGradFn(new LogBackward(x));
        if (Tracer.Current is not null) Tracer.Describe(y, new UnarySpec("Log", static i => Log(i[0])));
        return y;
    }

    private static Tensor Binary(Tensor a, Tensor b, Arithmetic kind, string op)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        bool broadcast = a.Shape != b.Shape;
        var shape = broadcast ? Broadcast.ResultShape(a.Shape, b.Shape, op) : a.Shape;
        var rows = new BroadcastRows(a.Shape, b.Shape, shape);
        var y = Tensor.Uninitialized(shape);
        float[] ad = a.Storage, bd = b.Storage, yd = y.Storage;
        Parallelism.For(rows.Count, (r0, r1) =>
        {
            for (int r = r0; r < r1; r++)
            {
                var row = rows.Row(r);
                BinaryKernels.Forward(kind, rows.A(ad, row), rows.B(bd, row), yd.AsSpan(row.Start, row.Length));
            }
        }, rows.MinRowsPerChunk);
        y.SetGradFn(new BinaryBackward(a, b, kind, rows));
        if (Tracer.Current is not null) TraceBinary(y, kind, op, broadcast);
        return y;
    }

    // Same-shape adds compile (AddSpec); every other binary op runs as an eager island.
    private static void TraceBinary(Tensor y, Arithmetic kind, string op, bool broadcast) =>
        Tracer.Describe(y, kind == Arithmetic.Add && !broadcast ? new AddSpec() : new BinarySpec(op, i => Binary(i[0], i[1], kind, op)));

    private static void TraceAffine(Tensor y, float scale, float shift) => Tracer.Describe(y, new AffineSpec(scale, shift, i => Affine(i[0], scale, shift)));
}

/// <summary>
/// Row by row over the forward's <see cref="BroadcastRows"/>: an operand with the output's size takes its rows in parallel;
/// a broadcast one takes, per row, the sum of the row's terms (its one value repeated, e.g. a per-channel bias: rows summed
/// in parallel, then added in row order) or the row's terms themselves (a run shared by several rows, e.g. an (F) vector
/// against (N, F): rows added in order on one thread). Either way the bits do not depend on the thread count.
/// </summary>
file sealed class BinaryBackward(Tensor a, Tensor b, Arithmetic kind, BroadcastRows rows) : Node(a, b)
{
    protected internal override void Backward(Tensor gradOutput)
    {
        if (GradStorageOf(a) is { } ga) Accumulate(forA: true, ga, gradOutput.Storage);
        if (GradStorageOf(b) is { } gb) Accumulate(forA: false, gb, gradOutput.Storage);
    }

    private void Accumulate(bool forA, float[] g, float[] gy)
    {
        float[] ad = a.Storage, bd = b.Storage;
        if (forA ? rows.AFull : rows.BFull)
        {
            Parallelism.For(rows.Count, (r0, r1) => WithScratch(rows.MaxLength, scratch =>
            {
                for (int r = r0; r < r1; r++)
                {
                    var row = rows.Row(r);
                    BinaryKernels.Accumulate(kind, forA, gy.AsSpan(row.Start, row.Length), rows.A(ad, row), rows.B(bd, row),
                        g.AsSpan(forA ? row.OffsetA : row.OffsetB, row.Length), scratch.AsSpan(0, row.Length));
                }
            }), rows.MinRowsPerChunk);
        }
        else if (forA ? rows.AScalar : rows.BScalar)
        {
            var sums = ArrayPool<float>.Shared.Rent(rows.Count);
            try
            {
                Parallelism.For(rows.Count, (r0, r1) => WithScratch(rows.MaxLength, scratch =>
                {
                    for (int r = r0; r < r1; r++)
                    {
                        var row = rows.Row(r);
                        var terms = scratch.AsSpan(0, row.Length);
                        BinaryKernels.Contribution(kind, forA, gy.AsSpan(row.Start, row.Length), rows.A(ad, row), rows.B(bd, row), terms);
                        sums[r] = ElementBlocks.Sum(terms);
                    }
                }), rows.MinRowsPerChunk);
                for (int r = 0; r < rows.Count; r++)
                {
                    var row = rows.Row(r);
                    g[forA ? row.OffsetA : row.OffsetB] += sums[r];
                }
            }
            finally
            {
                ArrayPool<float>.Shared.Return(sums);
            }
        }
        else
        {
            WithScratch(rows.MaxLength, scratch =>
            {
                for (int r = 0; r < rows.Count; r++)
                {
                    var row = rows.Row(r);
                    BinaryKernels.Accumulate(kind, forA, gy.AsSpan(row.Start, row.Length), rows.A(ad, row), rows.B(bd, row),
                        g.AsSpan(forA ? row.OffsetA : row.OffsetB, row.Length), scratch.AsSpan(0, row.Length));
                }
            });
        }
    }

    private static void WithScratch(int length, Action<float[]> body)
    {
        var scratch = ArrayPool<float>.Shared.Rent(length);
        try
        {
            body(scratch);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(scratch);
        }
    }
}

file sealed class ScaleBackward(Tensor x, float scale) : Node(x)
{
    protected internal override void Backward(Tensor gradOutput)
    {
        if (GradStorageOf(x) is { } g)
            ElementBlocks.MapGradient(gradOutput.Storage, gradOutput.Storage, g, (_, gy, gx) => TensorPrimitives.MultiplyAdd(gy, scale, gx, gx));
    }
}

file sealed class ExpBackward(Tensor x, Tensor y) : Node(x)
{
    protected internal override void Backward(Tensor gradOutput)
    {
        if (GradStorageOf(x) is { } g)
            ElementBlocks.MapGradient(y.Storage, gradOutput.Storage, g, static (output, gy, gx) => TensorPrimitives.MultiplyAdd(gy, output, gx, gx));
    }
}

file sealed class LogBackward(Tensor x) : Node(x)
{
    protected internal override void Backward(Tensor gradOutput)
    {
        if (GradStorageOf(x) is { } g)
            ElementBlocks.MapGradient(x.Storage, gradOutput.Storage, g, static (input, gy, gx) => BinaryKernels.AccumulateQuotient(gy, input, gx));
    }
}
