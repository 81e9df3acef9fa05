using CnnSharp.Autograd;
using CnnSharp.Compile;

namespace CnnSharp.Functional;

public static partial class F
{
    private static void TracePermute(Tensor y, int[] dims) => Tracer.Describe(y, new PermuteSpec(dims, i => Permute(i[0], dims)));

    /// <summary>Reorders the dimensions of <paramref name="x"/> (PyTorch's <c>torch.permute</c>): output dimension k is input dimension <c>dims[k]</c>.</summary>
    /// <remarks>
    /// <c>y[i_0, ..., i_{r-1}] = x[j]</c> with <c>j[dims[k]] = i_k</c>. Unlike PyTorch, which returns a strided view, the
    /// result is a new contiguous tensor (a copy), so an identity permutation copies too. The gradient is the output
    /// gradient permuted back. In a compiled model the op runs as an eager island (graph break).
    /// </remarks>
    /// <param name="x">Any shape.</param>
    /// <param name="dims">A permutation of 0..rank-1; negative entries count from the end.</param>
    /// <returns>Shape <c>(x.Size(dims[0]), ..., x.Size(dims[rank - 1]))</c>.</returns>
    /// <example><code>var nhwc = F.Permute(x, 0, 2, 3, 1); // (N, C, H, W) -> (N, H, W, C)</code></example>
    /// <exception cref="ShapeException"><paramref name="dims"/> has the wrong length, an entry out of range, or a repeated dimension.</exception>
    public static Tensor Permute(Tensor x, params int[] dims)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(dims);
        int r = x.Rank;
        var perm = new int[dims.Length];
        var seen = new bool[r];
        bool valid = dims.Length == r;
        for (int k = 0; valid && k < r; k++)
        {
            perm[k] = dims[k] < 0 ? dims[k] + r : dims[k];
            valid = perm[k] >= 0 && perm[k] < r && !seen[perm[k]];
            if (valid) seen[perm[k]] = true;
        }
        if (!valid)
            throw new ShapeException($"Permute: dims {Shape.Format(dims)} is not a permutation of the {r} dimensions of input {x.Shape}");
        var y = PermuteOp(x, perm, "Permute");
        if (Tracer.Current is not null) TracePermute(y, (int[])dims.Clone());
        return y;
    }

    /// <summary>Gathers <paramref name="x"/> into output order: output dimension k reads input dimension perm[k] (checked).</summary>
    private static Tensor PermuteOp(Tensor x, int[] perm, string op)
    {
        var strides = x.Shape.Strides();
        var sizes = new int[perm.Length];
        var readStrides = new int[perm.Length];
        for (int k = 0; k < perm.Length; k++)
        {
            sizes[k] = x.Shape[perm[k]];
            readStrides[k] = strides[perm[k]];
        }
        var y = Tensor.Uninitialized(new Shape(sizes));
        var layout = new StridedLayout(sizes, readStrides);
        layout.Move(x.Storage, y.Data, StridedMove.Gather);
        y.SetGradFn(new PermuteBackward(x, layout, op));
        return y;
    }
}

/// <summary>Scatters the output gradient back through the same layout into the input's gradient.</summary>
file sealed class PermuteBackward(Tensor x, StridedLayout layout, string op) : Node(x)
{
    public override string Name => op + "Backward";

    protected internal override void Backward(Tensor gradOutput)
    {
        var gx = GradOf(x);
        if (!gx.IsEmpty) layout.Move(gx, gradOutput.Data, StridedMove.ScatterAdd);
    }
}
