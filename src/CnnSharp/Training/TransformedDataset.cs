using CnnSharp.Data;
using CnnSharp.Data.Transforms;

namespace CnnSharp.Training;

/// <summary>
/// Another data set with a deterministic transform applied to every sample it fills (the evaluation side of a training
/// transform, e.g. <c>Normalize</c> from CnnSharp.Data); a random transform would draw from one fixed generator per batch.
/// </summary>
internal sealed class TransformedDataset : IDataset
{
    private readonly IDataset _source;
    private readonly ITransform _transform;

    public TransformedDataset(IDataset source, ITransform transform)
    {
        _source = source;
        _transform = transform;
        SampleShape = transform.OutputShape(source.SampleShape);
    }

    public int Count => _source.Count;

    public Shape SampleShape { get; }

    public void Fill(ReadOnlySpan<int> indices, Span<float> destination, Span<int> labels)
    {
        int inSize = _source.SampleShape.Numel, outSize = SampleShape.Numel;
        var raw = new float[indices.Length * inSize];
        _source.Fill(indices, raw, labels);
        var random = new Generator(0);
        for (int i = 0; i < indices.Length; i++)
            _transform.Apply(raw.AsSpan(i * inSize, inSize), _source.SampleShape, destination.Slice(i * outSize, outSize), random);
    }
}
