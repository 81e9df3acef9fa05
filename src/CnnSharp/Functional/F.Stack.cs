using CnnSharp.Compile;

namespace CnnSharp.Functional;

public static partial class F
{
    private static void TraceStack(Tensor y, int dim) => Tracer.Describe(y, new StackSpec(dim, i => Stack(i, dim)));

    /// <summary>Stacks tensors of one shape along a new dimension (PyTorch's <c>torch.stack</c>).</summary>
    /// <remarks>
    /// Equivalent to unsqueezing every input at <paramref name="dim"/> and concatenating: <c>y.Narrow(dim, i, 1)</c> is
    /// input i. Scalars stack into shape (n). The output is a new contiguous tensor (a copy); the gradient of each input
    /// is its slice of the output gradient. In a compiled model the op runs as an eager island (graph break).
    /// </remarks>
    /// <param name="tensors">One or more tensors of the same shape.</param>
    /// <param name="dim">Where the new dimension goes, in 0..rank (negative counts from the end of the output's rank + 1 dims).</param>
    /// <returns>The common shape with a dimension of size <c>tensors.Count</c> inserted at <paramref name="dim"/>.</returns>
    /// <example><code>var pairs = F.Stack([a, b], dim: 1); // two (N, D) -> (N, 2, D)</code></example>
    /// <exception cref="ShapeException">The list is empty, shapes differ, or <paramref name="dim"/> is out of range.</exception>
    public static Tensor Stack(IReadOnlyList<Tensor> tensors, int dim = 0)
    {
        var xs = CheckList(tensors, "Stack");
        var first = xs[0].Shape;
        int d = Dims.Normalize("Stack", dim, first.Rank + 1, $"inputs of shape {first} (the output has rank {first.Rank + 1})");
        for (int i = 1; i < xs.Length; i++)
        {
            if (xs[i].Shape != first)
                throw new ShapeException($"Stack: input {i} has shape {xs[i].Shape} but input 0 has {first}; all shapes must be equal ({ShapeList(xs)})");
        }
        var outDims = new List<int>(first);
        outDims.Insert(d, xs.Length);
        var y = Concatenate(xs, new Shape([.. outDims]), d, "Stack");
        if (Tracer.Current is not null) TraceStack(y, dim);
        return y;
    }
}
