using CnnSharp.Data;

namespace CnnSharp.Training;

/// <summary>The first <c>count</c> samples of another data set (for quick runs with a limit).</summary>
internal sealed class DatasetPrefix : IDataset
{
    private readonly IDataset _source;

    /// <summary>Wraps <paramref name="source"/>, exposing min(<paramref name="count"/>, source.Count) samples.</summary>
    public DatasetPrefix(IDataset source, int count)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        _source = source;
        Count = Math.Min(count, source.Count);
    }

    /// <summary>Returns <paramref name="source"/> itself when no limit applies, else its prefix.</summary>
    public static IDataset Take(IDataset source, int? limit) =>
        limit is int n && n < source.Count ? new DatasetPrefix(source, n) : source;

    public int Count { get; }

    public Shape SampleShape => _source.SampleShape;

    public void Fill(ReadOnlySpan<int> indices, Span<float> destination, Span<int> labels)
    {
        foreach (int i in indices)
        {
            if ((uint)i >= (uint)Count)
                throw new ArgumentOutOfRangeException(nameof(indices), i, $"index out of range for a data set of {Count} samples");
        }
        _source.Fill(indices, destination, labels);
    }
}
