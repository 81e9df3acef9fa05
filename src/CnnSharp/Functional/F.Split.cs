namespace CnnSharp.Functional;

public static partial class F
{
    /// <summary>Splits <paramref name="x"/> into pieces of <paramref name="splitSize"/> along <paramref name="dim"/> (PyTorch's <c>torch.split</c> with an int).</summary>
    /// <remarks>
    /// The last piece is smaller when the size is not divisible; a dimension of size 0 gives one empty piece. Each piece
    /// is <see cref="Narrow"/> of <paramref name="x"/>: a new contiguous tensor (a copy, where PyTorch returns views) with
    /// its own gradient path.
    /// </remarks>
    /// <param name="x">Any shape of rank 1 or more.</param>
    /// <param name="splitSize">Size of each piece, positive (0 only when the dimension has size 0, as in PyTorch).</param>
    /// <param name="dim">The dimension to split; negative counts from the end.</param>
    /// <returns><c>max(1, ceil(size / splitSize))</c> tensors.</returns>
    /// <exception cref="ShapeException"><paramref name="dim"/> is out of range or <paramref name="splitSize"/> is invalid.</exception>
    public static Tensor[] Split(Tensor x, int splitSize, int dim = 0)
    {
        ArgumentNullException.ThrowIfNull(x);
        int size = x.Shape[Dims.Normalize("Split", dim, x.Rank, $"input {x.Shape}")];
        if (splitSize < 0 || (splitSize == 0 && size != 0))
            throw new ShapeException($"Split: splitSize must be positive (0 only for an empty dimension), got {splitSize} for dim {dim} of input {x.Shape}");
        int pieces = splitSize == 0 ? 1 : Math.Max(1, (int)(((long)size + splitSize - 1) / splitSize));
        var sizes = new int[pieces];
        for (int i = 0; i < pieces; i++) sizes[i] = Math.Min(splitSize, size - i * splitSize);
        return SplitSizes(x, sizes, dim);
    }

    /// <summary>Splits <paramref name="x"/> into pieces of the given sizes along <paramref name="dim"/> (PyTorch's <c>torch.split</c> with a list).</summary>
    /// <remarks>Each piece is <see cref="Narrow"/> of <paramref name="x"/> (a copy with its own gradient path).</remarks>
    /// <param name="x">Any shape of rank 1 or more.</param>
    /// <param name="splitSizes">Non-negative sizes that sum to the size of <paramref name="dim"/>.</param>
    /// <param name="dim">The dimension to split; negative counts from the end.</param>
    /// <returns>One tensor per entry of <paramref name="splitSizes"/>.</returns>
    /// <exception cref="ShapeException"><paramref name="dim"/> is out of range, or the sizes are negative or do not sum to the dimension's size.</exception>
    public static Tensor[] Split(Tensor x, int[] splitSizes, int dim = 0)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(splitSizes);
        int size = x.Shape[Dims.Normalize("Split", dim, x.Rank, $"input {x.Shape}")];
        if (splitSizes.Any(s => s < 0) || splitSizes.Sum(s => (long)s) != size)
            throw new ShapeException($"Split: sizes {Shape.Format(splitSizes)} must be non-negative and sum to {size}, the size of dim {dim} of input {x.Shape}");
        return SplitSizes(x, splitSizes, dim);
    }

    /// <summary>Splits <paramref name="x"/> into <paramref name="chunks"/> near-equal pieces along <paramref name="dim"/> (PyTorch's <c>torch.chunk</c>).</summary>
    /// <remarks>
    /// Every piece has <c>ceil(size / chunks)</c> elements along <paramref name="dim"/> except the last, which is smaller,
    /// so fewer than <paramref name="chunks"/> pieces come back when the size does not allow that many (size 5 in 4 chunks
    /// gives 2, 2, 1); an empty dimension gives <paramref name="chunks"/> empty pieces. Pieces are copies (see <see cref="Split(Tensor, int, int)"/>).
    /// </remarks>
    /// <param name="x">Any shape of rank 1 or more.</param>
    /// <param name="chunks">Requested number of pieces, positive.</param>
    /// <param name="dim">The dimension to split; negative counts from the end.</param>
    /// <returns>At most <paramref name="chunks"/> tensors.</returns>
    /// <exception cref="ShapeException"><paramref name="dim"/> is out of range or <paramref name="chunks"/> is not positive.</exception>
    public static Tensor[] Chunk(Tensor x, int chunks, int dim = 0)
    {
        ArgumentNullException.ThrowIfNull(x);
        int size = x.Shape[Dims.Normalize("Chunk", dim, x.Rank, $"input {x.Shape}")];
        if (chunks <= 0) throw new ShapeException($"Chunk: chunks must be positive, got {chunks} (input {x.Shape}, dim {dim})");
        if (size == 0) return SplitSizes(x, new int[chunks], dim);
        return Split(x, (int)(((long)size + chunks - 1) / chunks), dim);
    }

    private static Tensor[] SplitSizes(Tensor x, int[] sizes, int dim)
    {
        var pieces = new Tensor[sizes.Length];
        for (int i = 0, start = 0; i < sizes.Length; start += sizes[i], i++) pieces[i] = Narrow(x, dim, start, sizes[i]);
        return pieces;
    }
}
