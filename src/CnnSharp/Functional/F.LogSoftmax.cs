using CnnSharp.Autograd;
using CnnSharp.Kernels;

namespace CnnSharp.Functional;

public static partial class F
{
    /// <summary>Logarithm of the softmax along <paramref name="dim"/> (PyTorch's <c>F.log_softmax</c>), computed stably.</summary>
    /// <remarks>
    /// <c>y = x - m - log(sum_j exp(x_j - m))</c> with m the maximum along <paramref name="dim"/>: no overflow for large
    /// inputs and no <c>log(0)</c> for very negative ones. Gradient: <c>dx = dy - exp(y) * sum_k dy</c>.
    /// </remarks>
    /// <param name="x">Any shape; a shape-() tensor is treated as one element along dim 0.</param>
    /// <param name="dim">The dimension to normalise; negative counts from the end.</param>
    /// <returns>Same shape as <paramref name="x"/>.</returns>
    /// <example><code>var logProbs = F.LogSoftmax(logits, dim: 1);</code></example>
    /// <exception cref="ShapeException"><paramref name="dim"/> is out of range.</exception>
    public static Tensor LogSoftmax(Tensor x, int dim)
    {
        ArgumentNullException.ThrowIfNull(x);
        var (outer, size, inner) = SoftmaxLayout(x, dim, "LogSoftmax");
        var y = Tensor.Uninitialized(x.Shape);
        SoftmaxKernels.Forward(x.Data, y.Data, outer, size, inner, log: true);
        y.SetGradFn(new LogSoftmaxBackward(x, y.Storage, outer, size, inner));
        return y;
    }
}

/// <summary>Uses the forward output: dx = dy - exp(y) * sum(dy).</summary>
file sealed class LogSoftmaxBackward(Tensor x, float[] output, int outer, int size, int inner) : Node(x)
{
    protected internal override void Backward(Tensor gradOutput)
    {
        var gx = GradOf(x);
        if (!gx.IsEmpty) SoftmaxKernels.Backward(output, gradOutput.Data, gx, outer, size, inner, log: true);
    }
}
