namespace CnnSharp.Functional;

public static partial class F
{
    /// <summary>A view of <paramref name="x"/> with a new shape (PyTorch's <c>torch.reshape</c>; see <see cref="Tensor.Reshape"/>).</summary>
    /// <remarks>
    /// Storage is always contiguous here, so the result always shares <paramref name="x"/>'s storage (writes through one
    /// are seen by the other), unlike <see cref="Cat"/>, <see cref="Slice"/> or <see cref="Permute"/>, which copy. One
    /// entry may be -1 and is inferred from the element count. The gradient is the output gradient reshaped back. In a
    /// compiled model the plan aliases the buffer (no copy, no graph break).
    /// </remarks>
    /// <param name="x">Any shape.</param>
    /// <param name="shape">The new shape, with the same element count; at most one -1.</param>
    /// <returns>A view of shape <paramref name="shape"/>.</returns>
    /// <example><code>var rows = F.Reshape(x, x.Size(0), -1); // (N, C, H, W) -> (N, C*H*W)</code></example>
    /// <exception cref="ShapeException">The element counts differ, an entry is below -1, or more than one entry is -1.</exception>
    public static Tensor Reshape(Tensor x, params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(x);
        return x.Reshape(shape);
    }

    /// <summary>Same as <see cref="Reshape"/> (PyTorch's <c>Tensor.view</c>, which never copies; neither does this).</summary>
    public static Tensor View(Tensor x, params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(x);
        return x.View(shape);
    }
}
