using CnnSharp.Functional;

namespace CnnSharp;

public sealed partial class Tensor
{
    /// <summary>Swaps two dimensions into a new contiguous tensor (<see cref="F.Transpose"/>; PyTorch's <c>x.transpose(d0, d1)</c>, which is a view there).</summary>
    public Tensor Transpose(int dim0, int dim1) => F.Transpose(this, dim0, dim1);

    /// <summary>Reorders the dimensions into a new contiguous tensor (<see cref="F.Permute"/>; PyTorch's <c>x.permute(...)</c>).</summary>
    public Tensor Permute(params int[] dims) => F.Permute(this, dims);

    /// <summary>The transpose of a matrix (PyTorch's <c>x.T</c> for 2-D tensors), as a new contiguous tensor.</summary>
    /// <exception cref="ShapeException">The tensor is not 2-D (PyTorch deprecates <c>.T</c> on other ranks; use <see cref="Permute"/>).</exception>
    public Tensor T => Rank == 2 ? F.Transpose(this, 0, 1)
        : throw new ShapeException($"T: expected a 2-D tensor, got shape {Shape}; use Permute to reorder other ranks");

    /// <summary>Python-style slice <c>x[..., start:end:step]</c> along <paramref name="dim"/>, copied (<see cref="F.Slice"/>).</summary>
    public Tensor Slice(int dim, int? start = null, int? end = null, int step = 1) => F.Slice(this, dim, start, end, step);

    /// <summary><paramref name="length"/> elements from <paramref name="start"/> along <paramref name="dim"/>, copied (<see cref="F.Narrow"/>; PyTorch's <c>x.narrow</c>).</summary>
    public Tensor Narrow(int dim, int start, int length) => F.Narrow(this, dim, start, length);

    /// <summary>Pieces of <paramref name="splitSize"/> along <paramref name="dim"/> (<see cref="F.Split(Tensor, int, int)"/>; PyTorch's <c>x.split</c>).</summary>
    public Tensor[] Split(int splitSize, int dim = 0) => F.Split(this, splitSize, dim);

    /// <summary>Pieces of the given sizes along <paramref name="dim"/> (<see cref="F.Split(Tensor, int[], int)"/>).</summary>
    public Tensor[] Split(int[] splitSizes, int dim = 0) => F.Split(this, splitSizes, dim);

    /// <summary>At most <paramref name="chunks"/> near-equal pieces along <paramref name="dim"/> (<see cref="F.Chunk"/>; PyTorch's <c>x.chunk</c>).</summary>
    public Tensor[] Chunk(int chunks, int dim = 0) => F.Chunk(this, chunks, dim);
}
