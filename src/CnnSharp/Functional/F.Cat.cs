using CnnSharp.Autograd;
using CnnSharp.Compile;

namespace CnnSharp.Functional;

public static partial class F
{
    private static void TraceCat(Tensor y, int dim) => Tracer.Describe(y, new CatSpec(dim, i => Cat(i, dim)));

    /// <summary>Concatenates tensors along an existing dimension (PyTorch's <c>torch.cat</c>).</summary>
    /// <remarks>
    /// Every input must have the same rank and the same size in every dimension except <paramref name="dim"/>; the output's
    /// size along <paramref name="dim"/> is the sum of the inputs'. Inputs of size 0 along <paramref name="dim"/> are
    /// allowed (PyTorch's legacy rule that skips 1-D empty tensors of any other shape is not supported). The output is a
    /// new contiguous tensor (a copy); the gradient of each input is its slice of the output gradient. A single input
    /// gives a copy of it. In a compiled model the op runs as an eager island (graph break).
    /// </remarks>
    /// <param name="tensors">One or more tensors of rank 1 or more.</param>
    /// <param name="dim">The dimension to concatenate along; negative counts from the end.</param>
    /// <returns>Shape of the inputs with dimension <paramref name="dim"/> replaced by the sum of their sizes.</returns>
    /// <example><code>var y = F.Cat([a, b], dim: 1); // (N, 16, H, W) and (N, 32, H, W) -> (N, 48, H, W)</code></example>
    /// <exception cref="ShapeException">The list is empty, an input has rank 0, ranks or sizes differ, or <paramref name="dim"/> is out of range.</exception>
    public static Tensor Cat(IReadOnlyList<Tensor> tensors, int dim = 0)
    {
        var xs = CheckList(tensors, "Cat");
        var first = xs[0].Shape;
        int d = Dims.Normalize("Cat", dim, first.Rank, $"input 0 {first}");
        var outDims = first.ToArray();
        outDims[d] = 0;
        for (int i = 0; i < xs.Length; i++)
        {
            var s = xs[i].Shape;
            bool same = s.Rank == first.Rank;
            for (int k = 0; same && k < s.Rank; k++) same = k == d || s[k] == first[k];
            if (!same)
                throw new ShapeException($"Cat: input {i} has shape {s} but input 0 has {first}; all sizes except dim {dim} must match ({ShapeList(xs)})");
            outDims[d] += s[d];
        }
        var y = Concatenate(xs, new Shape(outDims), d, "Cat");
        if (Tracer.Current is not null) TraceCat(y, dim);
        return y;
    }

    /// <summary>The inputs as an array, checked non-null and non-empty.</summary>
    private static Tensor[] CheckList(IReadOnlyList<Tensor> tensors, string op)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        if (tensors.Count == 0) throw new ShapeException($"{op}: expected a non-empty list of tensors");
        var xs = new Tensor[tensors.Count];
        for (int i = 0; i < xs.Length; i++)
            xs[i] = tensors[i] ?? throw new ArgumentNullException(nameof(tensors), $"{op}: tensor {i} is null");
        return xs;
    }

    private static string ShapeList(Tensor[] xs) => string.Join(", ", xs.Select(x => x.Shape.ToString()));

    /// <summary>
    /// Writes each input as a block of the output: with <c>outer</c> the product of the output's dimensions before
    /// <paramref name="dim"/>, input i is <c>outer</c> rows of <c>xs[i].Numel / outer</c> elements, placed side by side
    /// in every output row. Cat and Stack differ only in the output shape.
    /// </summary>
    private static Tensor Concatenate(Tensor[] xs, Shape outShape, int dim, string op)
    {
        int outer = 1;
        for (int k = 0; k < dim; k++) outer *= outShape[k];
        int row = outer == 0 ? 0 : outShape.Numel / outer;
        var y = Tensor.Uninitialized(outShape);
        var blocks = new (int Offset, StridedLayout Layout)[xs.Length];
        int offset = 0;
        for (int i = 0; i < xs.Length; i++)
        {
            int chunk = outer == 0 ? 0 : xs[i].Numel / outer;
            blocks[i] = (offset, new StridedLayout([outer, chunk], [row, 1]));
            blocks[i].Layout.Move(y.Storage.AsSpan(offset), xs[i].Data, StridedMove.Scatter);
            offset += chunk;
        }
        y.SetGradFn(new ConcatenateBackward(blocks, op, xs));
        return y;
    }
}

/// <summary>Each input's gradient is its block of the output gradient.</summary>
file sealed class ConcatenateBackward((int Offset, StridedLayout Layout)[] blocks, string op, Tensor[] inputs) : Node(inputs)
{
    public override string Name => op + "Backward";

    protected internal override void Backward(Tensor gradOutput)
    {
        for (int i = 0; i < blocks.Length; i++)
        {
            var gx = GradOf(Inputs[i]);
            if (!gx.IsEmpty) blocks[i].Layout.Move(gradOutput.Data[blocks[i].Offset..], gx, StridedMove.GatherAdd);
        }
    }
}
