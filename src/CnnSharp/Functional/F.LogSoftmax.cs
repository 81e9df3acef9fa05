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
    public static Tensor LogSoftmax(Tensor x, int dim) => SoftmaxOp(x, dim, log: true, "LogSoftmax");
}
