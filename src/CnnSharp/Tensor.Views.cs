using CnnSharp.Autograd;

namespace CnnSharp;

public sealed partial class Tensor
{
    /// <summary>
    /// A view with a new shape over the same storage (PyTorch's <c>reshape</c>/<c>view</c>; storage is always contiguous here).
    /// One dimension may be -1 and is then inferred.
    /// </summary>
    /// <exception cref="ShapeException">The element counts differ, or more than one dimension is -1.</exception>
    public Tensor Reshape(params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        var dims = (int[])shape.Clone();
        int infer = -1;
        long known = 1;
        for (int i = 0; i < dims.Length; i++)
        {
            if (dims[i] == -1)
            {
                if (infer >= 0) throw new ShapeException($"Reshape: only one dimension can be -1, got {Shape.Format(shape)} for input {Shape}");
                infer = i;
            }
            else if (dims[i] < 0)
            {
                throw new ShapeException($"Reshape: invalid dimension {dims[i]} in {Shape.Format(shape)} for input {Shape}");
            }
            else
            {
                known *= dims[i];
            }
        }
        if (infer >= 0)
        {
            if (known == 0 || Numel % known != 0)
                throw new ShapeException($"Reshape: cannot reshape {Shape} ({Numel} elements) into {Shape.Format(shape)}");
            dims[infer] = (int)(Numel / known);
        }
        var newShape = new Shape(dims);
        if (newShape.Numel != Numel)
            throw new ShapeException($"Reshape: cannot reshape {Shape} ({Numel} elements) into {newShape} ({newShape.Numel} elements)");
        var result = new Tensor(_data, newShape);
        result.SetGradFn(new ReshapeBackward(this));
        if (Compile.Tracer.Current is not null) Compile.Tracer.Describe(result, new Compile.ReshapeSpec());
        return result;
    }

    /// <summary>Same as <see cref="Reshape"/> (PyTorch's <c>view</c>).</summary>
    public Tensor View(params int[] shape) => Reshape(shape);

    /// <summary>
    /// Flattens dimensions <paramref name="startDim"/>..<paramref name="endDim"/> into one (PyTorch's <c>torch.flatten</c>;
    /// note <c>nn.Flatten</c> defaults to startDim 1).
    /// </summary>
    public Tensor Flatten(int startDim = 0, int endDim = -1)
    {
        if (Rank == 0) return Reshape(1);
        int s = Shape.NormalizeAxis(startDim), e = Shape.NormalizeAxis(endDim);
        if (s > e) throw new ShapeException($"Flatten: startDim {startDim} comes after endDim {endDim} for shape {Shape}");
        var dims = new List<int>();
        for (int i = 0; i < s; i++) dims.Add(Shape[i]);
        int prod = 1;
        for (int i = s; i <= e; i++) prod *= Shape[i];
        dims.Add(prod);
        for (int i = e + 1; i < Rank; i++) dims.Add(Shape[i]);
        return Reshape([.. dims]);
    }

    /// <summary>Inserts a dimension of size 1 at <paramref name="dim"/> (PyTorch's <c>unsqueeze</c>).</summary>
    public Tensor Unsqueeze(int dim)
    {
        int d = dim < 0 ? dim + Rank + 1 : dim;
        if (d < 0 || d > Rank) throw new ShapeException($"Unsqueeze: dim {dim} out of range for shape {Shape}");
        var dims = new List<int>(Shape);
        dims.Insert(d, 1);
        return Reshape([.. dims]);
    }

    /// <summary>Removes dimension <paramref name="dim"/> if its size is 1, else returns an unchanged view (PyTorch's <c>squeeze(dim)</c>).</summary>
    public Tensor Squeeze(int dim)
    {
        int d = Shape.NormalizeAxis(dim);
        if (Shape[d] != 1) return Reshape(Shape.ToArray());
        var dims = new List<int>(Shape);
        dims.RemoveAt(d);
        return Reshape([.. dims]);
    }
}

file sealed class ReshapeBackward(Tensor input) : Node(input)
{
    protected internal override void Backward(Tensor gradOutput)
    {
        if (GradStorageOf(input) is { } g) Kernels.ElementBlocks.Accumulate(g, gradOutput.Storage);
    }
}
