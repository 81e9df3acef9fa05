using System.Numerics.Tensors;

namespace CnnSharp.Kernels;

/// <summary>
/// <c>y = x·Wᵀ + b</c> for a few rows (batch-1 classifier heads: MobileNet-v2's 1280→1000, ShuffleNet-v2's 1024→1000) as
/// one dot product per output over W's contiguous row, outputs split over the worker threads. The packed GEMM repacks
/// the whole weight matrix for every call, which at one row costs more than the multiply-adds (a quarter of
/// MobileNet-v2's batch-1 run). Each output is one <see cref="TensorPrimitives.Dot(ReadOnlySpan{float}, ReadOnlySpan{float})"/>
/// plus the bias, whatever the split: the same bits for every thread count.
/// </summary>
internal sealed class SmallBatchLinear
{
    /// <summary>The most rows this path takes (above, the GEMM's register tile pays for its packing).</summary>
    public const int MaxRows = 4;

    private readonly Action<int, int> _body;
    private float[] _x = [], _w = [], _y = [];
    private float[]? _b;
    private int _rows, _in, _out;

    public SmallBatchLinear() => _body = Run;

    /// <summary>Computes <paramref name="y"/> (rows × out) from <paramref name="x"/> (rows × in), <paramref name="w"/>
    /// (out × in) and <paramref name="b"/> (out, or null); not reentrant (one per op).</summary>
    public void Forward(float[] x, float[] w, float[]? b, float[] y, int rows, int inFeatures, int outFeatures)
    {
        if (rows > MaxRows || x.Length < rows * inFeatures || w.Length < outFeatures * inFeatures || y.Length < rows * outFeatures
            || (b is not null && b.Length < outFeatures))
            throw new ArgumentException($"SmallBatchLinear: {rows} rows of {inFeatures} -> {outFeatures} do not fit the buffers (at most {MaxRows} rows)");
        (_x, _w, _b, _y, _rows, _in, _out) = (x, w, b, y, rows, inFeatures, outFeatures);
        // ~64 outputs per chunk: a chunk reads 64 weight rows, enough to hide the dispatch.
        Parallelism.For(outFeatures, _body, 64);
    }

    private void Run(int start, int end)
    {
        for (int r = 0; r < _rows; r++)
        {
            var xr = _x.AsSpan(r * _in, _in);
            var yr = _y.AsSpan(r * _out, _out);
            for (int o = start; o < end; o++)
                yr[o] = TensorPrimitives.Dot(xr, _w.AsSpan(o * _in, _in)) + (_b is null ? 0f : _b[o]);
        }
    }
}
