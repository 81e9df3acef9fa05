using CnnSharp.Compile;

namespace CnnSharp.Functional;

public static partial class F
{
    private static void TraceTranspose(Tensor y, int dim0, int dim1) => Tracer.Describe(y, new TransposeSpec(dim0, dim1, i => Transpose(i[0], dim0, dim1)));

    /// <summary>Swaps dimensions <paramref name="dim0"/> and <paramref name="dim1"/> (PyTorch's <c>torch.transpose</c>).</summary>
    /// <remarks>
    /// A <see cref="Permute"/> that exchanges two dimensions: the result is a new contiguous tensor (a copy, where PyTorch
    /// returns a view). The gradient is the output gradient transposed back. In a compiled model the op runs as an eager island.
    /// </remarks>
    /// <param name="x">Any shape of rank 1 or more.</param>
    /// <param name="dim0">First dimension; negative counts from the end.</param>
    /// <param name="dim1">Second dimension (may equal <paramref name="dim0"/>, giving a copy).</param>
    /// <returns><paramref name="x"/>'s shape with the two sizes exchanged.</returns>
    /// <example><code>var wt = F.Transpose(w, 0, 1); // (out, in) -> (in, out)</code></example>
    /// <exception cref="ShapeException">A dimension is out of range.</exception>
    public static Tensor Transpose(Tensor x, int dim0, int dim1)
    {
        ArgumentNullException.ThrowIfNull(x);
        int a = Dims.Normalize("Transpose", dim0, x.Rank, $"input {x.Shape}");
        int b = Dims.Normalize("Transpose", dim1, x.Rank, $"input {x.Shape}");
        var perm = new int[x.Rank];
        for (int k = 0; k < perm.Length; k++) perm[k] = k;
        (perm[a], perm[b]) = (b, a);
        var y = PermuteOp(x, perm, "Transpose");
        if (Tracer.Current is not null) TraceTranspose(y, dim0, dim1);
        return y;
    }
}
