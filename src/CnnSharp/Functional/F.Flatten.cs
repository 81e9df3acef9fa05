namespace CnnSharp.Functional;

public static partial class F
{
    /// <summary>Flattens dimensions <paramref name="startDim"/>..<paramref name="endDim"/> into one (PyTorch's <c>torch.flatten</c>).</summary>
    /// <remarks>
    /// The result is a view sharing <paramref name="x"/>'s storage (see <see cref="Tensor.Flatten"/>); for (N, C, H, W) with
    /// startDim 1 it is (N, C*H*W), the tutorial's flattening. A shape-() input gives shape (1). Note that <c>torch.flatten</c>
    /// starts at dim 0 while the <c>Flatten</c> module (<c>nn.Flatten</c>) starts at dim 1.
    /// </remarks>
    /// <param name="x">Any shape.</param>
    /// <param name="startDim">First dimension to merge; negative counts from the end.</param>
    /// <param name="endDim">Last dimension to merge (inclusive); negative counts from the end.</param>
    /// <returns>A view with dimensions startDim..endDim replaced by their product.</returns>
    /// <example><code>var flat = F.Flatten(x, startDim: 1); // (N, 32, 7, 7) -> (N, 1568)</code></example>
    /// <exception cref="ShapeException">A dimension is out of range, or startDim comes after endDim.</exception>
    public static Tensor Flatten(Tensor x, int startDim = 0, int endDim = -1)
    {
        ArgumentNullException.ThrowIfNull(x);
        int rank = Math.Max(1, x.Rank); // a scalar flattens as if it had one dimension, like torch.flatten
        if (startDim < -rank || startDim >= rank || endDim < -rank || endDim >= rank)
            throw new ShapeException($"Flatten: startDim {startDim} or endDim {endDim} is out of range for input {x.Shape} (rank {x.Rank})");
        int s = startDim < 0 ? startDim + rank : startDim, e = endDim < 0 ? endDim + rank : endDim;
        if (s > e) throw new ShapeException($"Flatten: startDim {startDim} comes after endDim {endDim} for input {x.Shape}");
        return x.Flatten(startDim, endDim);
    }
}
