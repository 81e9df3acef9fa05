using CnnSharp.Autograd;
using CnnSharp.Kernels;
using CnnSharp.Compile;

namespace CnnSharp.Functional;

public static partial class F
{
    /// <summary>Softmax along <paramref name="dim"/> (PyTorch's <c>F.softmax</c>), numerically stable.</summary>
    /// <remarks>
    /// <c>y[..., k, ...] = exp(x[..., k, ...] - m) / sum_j exp(x[..., j, ...] - m)</c> with m the maximum along
    /// <paramref name="dim"/>, so inputs of any magnitude (e.g. 1e4) give finite results. A slice containing NaN gives NaN.
    /// Gradient: <c>dx = y * (dy - sum_k dy*y)</c>.
    /// </remarks>
    /// <param name="x">Any shape; a shape-() tensor is treated as one element along dim 0.</param>
    /// <param name="dim">The dimension to normalise; negative counts from the end.</param>
    /// <returns>Same shape as <paramref name="x"/>; slices along <paramref name="dim"/> sum to 1.</returns>
    /// <example><code>var probs = F.Softmax(logits, dim: 1); // (N, classes)</code></example>
    /// <exception cref="ShapeException"><paramref name="dim"/> is out of range.</exception>
    public static Tensor Softmax(Tensor x, int dim) => SoftmaxOp(x, dim, log: false, "Softmax");

    /// <summary>Softmax (<paramref name="log"/> false) or log-softmax along <paramref name="dim"/>, with its backward node.</summary>
    private static void TraceSoftmax(Tensor y, int dim, bool log, string op) =>
        Tracer.Describe(y, new SoftmaxSpec(dim, log, i => SoftmaxOp(i[0], dim, log, op)));

    private static Tensor SoftmaxOp(Tensor x, int dim, bool log, string op)
    {
        ArgumentNullException.ThrowIfNull(x);
        var (outer, size, inner) = SoftmaxLayout(x, dim, op);
        var y = Tensor.Uninitialized(x.Shape);
        SoftmaxKernels.Forward(x.Data, y.Data, outer, size, inner, log);
        y.SetGradFn(new SoftmaxBackward(x, y.Storage, outer, size, inner, log));
        if (Tracer.Current is not null) TraceSoftmax(y, dim, log, op);
        return y;
    }

    /// <summary>Views <paramref name="x"/> as (outer, size, inner) around <paramref name="dim"/>; a scalar is (1, 1, 1).</summary>
    internal static (int Outer, int Size, int Inner) SoftmaxLayout(Tensor x, int dim, string op)
    {
        if (x.Rank == 0)
        {
            if (dim is 0 or -1) return (1, 1, 1);
            throw new ShapeException($"{op}: dim {dim} is out of range for input {x.Shape} (rank 0)");
        }
        if (dim < -x.Rank || dim >= x.Rank)
            throw new ShapeException($"{op}: dim {dim} is out of range for input {x.Shape} (rank {x.Rank})");
        return Split(x.Shape, dim < 0 ? dim + x.Rank : dim);
    }
}

/// <summary>
/// Uses the forward output y: softmax <c>dx = y * (dy - sum(dy * y))</c>; log-softmax (<paramref name="log"/>)
/// <c>dx = dy - exp(y) * sum(dy)</c>.
/// </summary>
file sealed class SoftmaxBackward(Tensor x, float[] output, int outer, int size, int inner, bool log) : Node(x)
{
    protected internal override void Backward(Tensor gradOutput)
    {
        var gx = GradOf(x);
        if (!gx.IsEmpty) SoftmaxKernels.Backward(output, gradOutput.Data, gx, outer, size, inner, log);
    }
}
