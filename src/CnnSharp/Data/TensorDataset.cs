namespace CnnSharp.Data;

/// <summary>An in-memory dataset over a samples tensor of shape (N, ...) and N integer labels, like PyTorch's <c>TensorDataset</c>.</summary>
/// <remarks>The tensor's storage is shared, not copied: later writes to it are visible to the dataset.</remarks>
public sealed class TensorDataset : IDataset
{
    private readonly Tensor _samples;
    private readonly int[] _labels;
    private readonly int _sampleSize;

    /// <summary>Creates the dataset.</summary>
    /// <param name="samples">Shape (N, ...): sample <c>i</c> is <c>samples[i]</c>. Rank at least 1.</param>
    /// <param name="labels">Length N: the class index of each sample (not copied).</param>
    /// <exception cref="ShapeException">The tensor is rank 0 or its first dimension differs from <c>labels.Length</c>.</exception>
    public TensorDataset(Tensor samples, int[] labels)
    {
        ArgumentNullException.ThrowIfNull(samples);
        ArgumentNullException.ThrowIfNull(labels);
        if (samples.Rank == 0 || samples.Shape[0] != labels.Length)
            throw new ShapeException($"TensorDataset: samples {samples.Shape} must have shape (N, ...) with N = {labels.Length} labels");
        _samples = samples;
        _labels = labels;
        var dims = samples.Shape.Dims[1..].ToArray();
        SampleShape = new Shape(dims);
        _sampleSize = SampleShape.Numel;
    }

    /// <inheritdoc/>
    public int Count => _labels.Length;

    /// <inheritdoc/>
    public Shape SampleShape { get; }

    /// <inheritdoc/>
    public void Fill(ReadOnlySpan<int> indices, Span<float> destination, Span<int> labels)
    {
        DatasetChecks.FillArguments(indices, destination, labels, Count, _sampleSize);
        ReadOnlySpan<float> all = _samples.Data;
        for (int k = 0; k < indices.Length; k++)
        {
            int i = indices[k];
            all.Slice(i * _sampleSize, _sampleSize).CopyTo(destination.Slice(k * _sampleSize, _sampleSize));
            labels[k] = _labels[i];
        }
    }
}

/// <summary>Argument validation shared by the <see cref="IDataset"/> implementations.</summary>
internal static class DatasetChecks
{
    public static void FillArguments(ReadOnlySpan<int> indices, Span<float> destination, Span<int> labels, int count, int sampleSize)
    {
        long need = (long)indices.Length * sampleSize;
        if (destination.Length < need)
            throw new ArgumentException($"Fill: destination has {destination.Length} values, {indices.Length} samples of {sampleSize} need {need}", nameof(destination));
        if (labels.Length < indices.Length)
            throw new ArgumentException($"Fill: labels has {labels.Length} slots, {indices.Length} samples need {indices.Length}", nameof(labels));
        foreach (int i in indices)
            if ((uint)i >= (uint)count)
                throw new ArgumentOutOfRangeException(nameof(indices), i, $"Fill: sample index must be in [0, {count})");
    }
}
