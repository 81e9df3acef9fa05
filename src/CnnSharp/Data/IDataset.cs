namespace CnnSharp.Data;

/// <summary>
/// A finite, indexable collection of labelled samples that a <see cref="DataLoader"/> batches, like PyTorch's
/// map-style <c>Dataset</c> with a batched <c>__getitem__</c>.
/// </summary>
public interface IDataset
{
    /// <summary>Number of samples.</summary>
    int Count { get; }

    /// <summary>Shape of one sample, e.g. (1, 28, 28) for MNIST; a batch of B samples has shape (B, ...SampleShape).</summary>
    Shape SampleShape { get; }

    /// <summary>Copies the samples at <paramref name="indices"/>, in that order, into <paramref name="destination"/> and their class labels into <paramref name="labels"/>.</summary>
    /// <param name="indices">Sample indices, each in [0, <see cref="Count"/>); repeats allowed.</param>
    /// <param name="destination">Receives <c>indices.Length * SampleShape.Numel</c> values, sample after sample (row-major).</param>
    /// <param name="labels">Receives <c>indices.Length</c> class indices.</param>
    /// <exception cref="ArgumentOutOfRangeException">An index is outside [0, Count).</exception>
    /// <exception cref="ArgumentException">A destination span is shorter than required.</exception>
    void Fill(ReadOnlySpan<int> indices, Span<float> destination, Span<int> labels);
}
