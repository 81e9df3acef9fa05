namespace CnnSharp.Data;

/// <summary>A mini-batch produced by <see cref="DataLoader"/>: stacked samples, their labels and their dataset indices.</summary>
public sealed class Batch
{
    /// <summary>Creates a batch.</summary>
    /// <param name="images">Shape (B, ...sample shape), e.g. (B, 1, 28, 28).</param>
    /// <param name="labels">Length B: class index of each sample.</param>
    /// <param name="indices">Length B: the dataset index of each sample.</param>
    /// <exception cref="ShapeException">The first dimension of <paramref name="images"/> differs from the array lengths.</exception>
    public Batch(Tensor images, int[] labels, int[] indices)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(indices);
        if (images.Rank == 0 || images.Shape[0] != labels.Length || indices.Length != labels.Length)
            throw new ShapeException($"Batch: images {images.Shape}, {labels.Length} labels and {indices.Length} indices must agree on the batch size");
        Images = images;
        Labels = labels;
        Indices = indices;
    }

    /// <summary>The samples stacked along dimension 0: shape (B, ...sample shape), e.g. (B, 1, 28, 28) for MNIST.</summary>
    public Tensor Images { get; }

    /// <summary>Class index of each sample, length B.</summary>
    public int[] Labels { get; }

    /// <summary>Dataset index of each sample, length B (in shuffled order when shuffling).</summary>
    public int[] Indices { get; }

    /// <summary>Number of samples B (the last batch of an epoch may be smaller than the loader's batch size).</summary>
    public int Count => Labels.Length;
}
