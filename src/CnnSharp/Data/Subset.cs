namespace CnnSharp.Data;

/// <summary>The samples of a dataset at chosen indices, in that order, like PyTorch's <c>torch.utils.data.Subset</c>.</summary>
/// <remarks>Sample <c>k</c> of the subset is sample <c>Indices[k]</c> of <see cref="Dataset"/>; nothing is copied. Thread safety is the underlying dataset's.</remarks>
public sealed class Subset : IDataset
{
    private readonly int[] _indices;

    /// <summary>Creates the subset.</summary>
    /// <param name="dataset">The underlying dataset.</param>
    /// <param name="indices">Indices into <paramref name="dataset"/>, each in [0, Count); repeats allowed (copied).</param>
    /// <exception cref="ArgumentOutOfRangeException">An index is outside the dataset.</exception>
    public Subset(IDataset dataset, ReadOnlySpan<int> indices)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        for (int k = 0; k < indices.Length; k++)
            if ((uint)indices[k] >= (uint)dataset.Count)
                throw new ArgumentOutOfRangeException(nameof(indices), indices[k], $"Subset: index {k} is {indices[k]}, outside the dataset's [0, {dataset.Count})");
        Dataset = dataset;
        _indices = indices.ToArray();
    }

    /// <summary>The underlying dataset.</summary>
    public IDataset Dataset { get; }

    /// <summary>The underlying indices, in subset order.</summary>
    public IReadOnlyList<int> Indices => _indices;

    /// <inheritdoc/>
    public int Count => _indices.Length;

    /// <inheritdoc/>
    public Shape SampleShape => Dataset.SampleShape;

    /// <inheritdoc/>
    public void Fill(ReadOnlySpan<int> indices, Span<float> destination, Span<int> labels)
    {
        DatasetChecks.FillArguments(indices, destination, labels, Count, SampleShape.Numel);
        // Map through the index table in small stack chunks: no allocation per call.
        const int Chunk = 256;
        Span<int> mapped = stackalloc int[Math.Min(Chunk, Math.Max(indices.Length, 1))];
        int size = SampleShape.Numel;
        for (int start = 0; start < indices.Length; start += Chunk)
        {
            int n = Math.Min(Chunk, indices.Length - start);
            for (int k = 0; k < n; k++)
                mapped[k] = _indices[indices[start + k]];
            Dataset.Fill(mapped[..n], destination.Slice(start * size, n * size), labels.Slice(start, n));
        }
    }
}
