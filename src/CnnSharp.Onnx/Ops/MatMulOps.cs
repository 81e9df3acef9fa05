using CnnSharp.Functional;
using System.Numerics.Tensors;
using CnnSharp.Kernels;
using CnnSharp.Onnx.Runtime;

namespace CnnSharp.Onnx.Ops;

/// <summary>
/// Gemm: <c>Y = alpha · op(A) · op(B) + beta · C</c> with op(X) = X or Xᵀ (<c>transA</c>, <c>transB</c>), A and B
/// matrices, op(A) (M, K), op(B) (K, N), and C (optional from opset 11) broadcast to (M, N). Runs on the packed GEMM, or as one dot product per output for a small A·Bᵀ (a classifier head at small batch).
/// </summary>
internal sealed class GemmOp : OnnxOp
{
    private readonly float _alpha, _beta;
    private readonly bool _transA, _transB;

    /// <summary>The attributes (read by the compiled-plan mapping).</summary>
    internal (float Alpha, float Beta, bool TransA, bool TransB) Attributes => (_alpha, _beta, _transA, _transB);

    /// <summary>Up to this many multiply-adds (a few microseconds) a Gemm with transB and no transA runs as dot products.</summary>
    private const long SmallDotMacs = 1L << 20;

    public GemmOp(OpBuilder b)
    {
        b.Inputs(b.Opset < 11 ? 3 : 2, 3);
        b.Outputs(1);
        _alpha = b.Float("alpha", 1f);
        _beta = b.Float("beta", 1f);
        _transA = b.Flag("transA", false);
        _transB = b.Flag("transB", false);
        // Before opset 7, broadcast=1 allowed a C smaller than (M, N); broadcasting C is what both settings compute.
        if (b.Opset < 7) b.Flag("broadcast", false);
    }

    public override void Execute(OpContext ctx, ReadOnlySpan<OnnxValue?> inputs, Span<OnnxValue?> outputs)
    {
        var a = inputs[0]!;
        var b = inputs[1]!;
        var c = inputs.Length > 2 ? inputs[2] : null;
        string Describe() => $"A {Shape.Format(a.Shape)}, B {Shape.Format(b.Shape)}{(c is null ? "" : $", C {Shape.Format(c.Shape)}")}, transA {(_transA ? 1 : 0)}, transB {(_transB ? 1 : 0)}";
        if (!a.IsFloat || !b.IsFloat || (c is not null && !c.IsFloat)) throw new ShapeException($"Gemm: expected floating-point operands ({Describe()})");
        if (a.Rank != 2 || b.Rank != 2) throw new ShapeException($"Gemm: A and B must be matrices ({Describe()})");
        int m = _transA ? a.Shape[1] : a.Shape[0], k = _transA ? a.Shape[0] : a.Shape[1];
        int kb = _transB ? b.Shape[1] : b.Shape[0], n = _transB ? b.Shape[0] : b.Shape[1];
        if (k != kb) throw new ShapeException($"Gemm: inner dimensions differ, {k} vs {kb} ({Describe()})");
        int[] outShape = [m, n];
        bool addC = c is not null && _beta != 0;
        if (addC && !Broadcast.BroadcastsTo(c!.Shape, outShape))
            throw new ShapeException($"Gemm: C does not broadcast to ({m}, {n}) ({Describe()})");

        var y = ctx.Floats(outShape);
        Span<float> ys = y.Floats;
        if (addC)
        {
            Broadcast.Expand(c!.Floats, new Shape(c.Shape), new Shape(outShape), y.Floats);
            if (_beta != 1) TensorPrimitives.Multiply(ys, _beta, ys);
        }
        if (_alpha == 1 || !addC)
        {
            if (!_transA && _transB && (m == 1 || (long)m * n * k <= SmallDotMacs))
            {
                // A classifier head (A·Bᵀ with few rows, such as a Linear layer at small batch): one vectorised dot product
                // per output over two contiguous rows, no packing of B. At batch 1 the GEMM would pack all of B for one row.
                for (int i = 0; i < m; i++)
                {
                    var row = new ReadOnlySpan<float>(a.Floats, i * k, k);
                    for (int j = 0; j < n; j++)
                    {
                        float dot = TensorPrimitives.Dot(row, new ReadOnlySpan<float>(b.Floats, j * k, k));
                        ys[i * n + j] = addC ? ys[i * n + j] + dot : dot;
                    }
                }
            }
            else
            {
                Gemm.Multiply(_transA, _transB, m, n, k, a.Floats, a.Shape[1], b.Floats, b.Shape[1], ys, n, accumulate: addC);
            }
            if (_alpha != 1) TensorPrimitives.Multiply(ys, _alpha, ys);
        }
        else
        {
            var product = new float[m * n];
            Gemm.Multiply(_transA, _transB, m, n, k, a.Floats, a.Shape[1], b.Floats, b.Shape[1], product, n, accumulate: false);
            TensorPrimitives.MultiplyAdd(product, _alpha, ys, ys);
        }
        outputs[0] = y;
    }
}

/// <summary>
/// MatMul with NumPy semantics: (…, M, K) · (…, K, N) → (…, M, N) with broadcast batch dimensions; a 1-D first operand
/// is a row vector and a 1-D second operand a column vector, their added dimension removed from the result.
/// </summary>
internal sealed class MatMulOp : OnnxOp
{
    public MatMulOp(OpBuilder b)
    {
        b.Inputs(2, 2);
        b.Outputs(1);
    }

    public override void Execute(OpContext ctx, ReadOnlySpan<OnnxValue?> inputs, Span<OnnxValue?> outputs)
    {
        var a = inputs[0]!;
        var b = inputs[1]!;
        if (!a.IsFloat || !b.IsFloat) throw new ShapeException($"MatMul: expected floating-point operands, got {a} and {b}");
        if (a.Rank == 0 || b.Rank == 0) throw new ShapeException($"MatMul: operands must have at least one dimension, got {Shape.Format(a.Shape)} and {Shape.Format(b.Shape)}");
        int[] sa = a.Rank == 1 ? [1, a.Shape[0]] : a.Shape;
        int[] sb = b.Rank == 1 ? [b.Shape[0], 1] : b.Shape;
        int m = sa[^2], k = sa[^1], kb = sb[^2], n = sb[^1];
        if (k != kb)
            throw new ShapeException($"MatMul: inner dimensions differ, {k} vs {kb} (A {Shape.Format(a.Shape)}, B {Shape.Format(b.Shape)})");
        int[] batchA = sa[..^2], batchB = sb[..^2];
        int[] batch = Broadcast.ResultShape(batchA, batchB, "MatMul");
        var shape = new List<int>(batch);
        if (a.Rank > 1) shape.Add(m);
        if (b.Rank > 1) shape.Add(n);
        var y = ctx.Floats(shape.ToArray());
        int batches = OnnxValue.Numel(batch);
        if (batches == 0 || m == 0 || n == 0) { outputs[0] = y; return; }

        if (batchB.Length == 0 || OnnxValue.Numel(batchB) == 1 && batchA.SequenceEqual(batch))
        {
            // B is one matrix: all of A's rows form one (batches·M, K) matrix.
            Gemm.Multiply(false, false, batches * m, n, k, a.Floats, k, b.Floats, n, y.Floats, n, accumulate: false);
        }
        else
        {
            var stridesA = Broadcast.Strides(batchA, batch);
            var stridesB = Broadcast.Strides(batchB, batch);
            var index = new int[batch.Length];
            for (int t = 0; t < batches; t++)
            {
                long offA = 0, offB = 0;
                for (int d = 0; d < batch.Length; d++)
                {
                    offA += (long)index[d] * stridesA[d];
                    offB += (long)index[d] * stridesB[d];
                }
                Gemm.Multiply(false, false, m, n, k, a.Floats.AsSpan((int)(offA * m * k), m * k), k,
                    b.Floats.AsSpan((int)(offB * k * n), k * n), n, y.Floats.AsSpan(t * m * n, m * n), n, accumulate: false);
                for (int d = batch.Length - 1; d >= 0; d--)
                {
                    if (++index[d] < batch[d]) break;
                    index[d] = 0;
                }
            }
        }
        outputs[0] = y;
    }
}
