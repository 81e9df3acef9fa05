using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

namespace CnnSharp.Kernels;

/// <summary>
/// A 1x1 convolution with its epilogue followed by a global average pool, in one pass that never writes the
/// convolution's output: <c>y[n, k] = Σ_p min(relu?(W · x[n] + b), max)[k, p] / P</c> (P = H·W), the network head of
/// MobileNet-v2 (320 → 1280 at 7×7, ReLU6) and ShuffleNet-v2 (464 → 1024 at 7×7, ReLU).
/// </summary>
/// <remarks>
/// <para>Bits: every convolution value is <see cref="PointwiseConv.Block"/>'s (the KC slices of the packed weights, then
/// the epilogue), which is also what <see cref="ConvGemm"/> computes for it, and each row of P values is summed by
/// <see cref="TensorPrimitives.Sum(ReadOnlySpan{float})"/> and divided by P, as the global pool op does: the same bits as
/// the two ops, for any split. <see cref="TensorPrimitives.Sum(ReadOnlySpan{float})"/> sums up to 128 floats in an order
/// that does not depend on their address, but aligns longer spans first (its order then depends on where the row
/// starts): hence <see cref="MaxPixels"/>.</para>
/// <para>Units: (image, part of the K output channels in MR-row panels), claimed through
/// <see cref="WorkerPool.RunDynamic"/>, one fork-join per call. A unit copies its image to a 64-byte pitch once per
/// thread and call (B rows at a 7×7 map's pitch of 49 floats would split a cache line on every other vector load), runs
/// its rows into a per-thread buffer (L2) and sums each row there.</para>
/// <para>Why: at batch 1 the convolution ran on <see cref="ConvGemm"/>'s shared-column path (pack B in one parallel
/// region, multiply in a second) and the pool in a third region over a 1280 × 49 map written to memory.</para>
/// </remarks>
internal static unsafe class PointwiseConvPool
{
    /// <summary>The largest plane (H·W) taken: the pool's sums are address-independent only up to 128 floats (remarks).</summary>
    public const int MaxPixels = 128;

    /// <summary>Whether <paramref name="g"/> is a convolution this kernel computes (1x1 stride 1 unpadded, one group, at
    /// most <see cref="MaxPixels"/> pixels).</summary>
    public static bool Takes(in Conv2dGeometry g) => PointwiseConv.Takes(g) && g.H * g.W <= MaxPixels;

    /// <summary>
    /// Whether the convolution values here (<see cref="PointwiseConv.Block"/>'s) have the bits <see cref="ConvGemm"/> gives
    /// for weights packed at <paramref name="level"/> and a plane of <paramref name="pixels"/>: everywhere except at V256
    /// with a last column panel of at most 8 pixels (a 7x7 map's 49 = 3·16 + 1), which ConvGemm's packing driver runs on
    /// a half tile that sums even and odd k-steps apart (<c>Kernel6x8V256</c>).
    /// </summary>
    public static bool SameBitsAsConvGemm(IsaLevel level, int pixels) => level != IsaLevel.V256 || pixels % 16 == 0 || pixels % 16 > 8;

    /// <summary>
    /// <c>pooled[n·K + k] = Σ_p min(relu?(W·x[n] + b), max)[k, p] / P</c> on up to <paramref name="threads"/> threads.
    /// </summary>
    /// <param name="x">Input (N, C, H, W).</param>
    /// <param name="weights">The packed 1x1 weights (K, C, 1, 1).</param>
    /// <param name="bias">b (K), or null.</param>
    /// <param name="relu">Clamp the convolution at zero.</param>
    /// <param name="max">Upper clamp of the convolution (ReLU6: 6), +∞ for none.</param>
    /// <param name="pooled">Output (N, K); fully overwritten.</param>
    /// <param name="g">The convolution's geometry (<see cref="Takes"/> must hold).</param>
    /// <param name="threads">Threads to use.</param>
    /// <param name="parts">Units per image (each a run of MR-row panels of the weights), at least 1.</param>
    public static void Forward(float* x, PackedConvWeights weights, float* bias, bool relu, float max, float* pooled, in Conv2dGeometry g,
        int threads, int parts)
    {
        ArgumentNullException.ThrowIfNull(weights);
        if (!Takes(g)) throw new ArgumentException($"PointwiseConvPool: {g} is not a 1x1 stride-1 unpadded single-group convolution of at most {MaxPixels} pixels", nameof(g));
        if (!weights.Matches(g, weights.Level)) throw new ArgumentException($"PointwiseConvPool: packed weights do not match {g}", nameof(weights));
        ArgumentOutOfRangeException.ThrowIfLessThan(parts, 1);
        if (g.N == 0) return;
        var job = t_job ??= new Job();
        job.Bind(x, weights, bias, relu, max, pooled, g, parts);
        int units = g.N * parts;
        if (threads <= 1 || units == 1)
        {
            for (int u = 0; u < units; u++) job.Run(u, 0);
        }
        else
        {
            WorkerPool.Shared.RunDynamic(threads, units, job.RunAction);
        }
        weights.KeepAlive();
    }

    [ThreadStatic] private static Job? t_job;

    // The image this thread last copied into its PaddedImage scratch: the call's sequence number and the image.
    [ThreadStatic] private static long t_copiedCall;
    [ThreadStatic] private static int t_copiedImage;

    /// <summary>One call's operands, shared by its units; one per calling thread, rebound by every call.</summary>
    private sealed class Job
    {
        private static long s_calls;
        private float* _x, _bias, _pooled;
        private PackedConvWeights _w = null!;
        private bool _relu;
        private float _max;
        private Conv2dGeometry _g;
        private int _parts;
        private long _call;

        public readonly Action<int, int> RunAction;

        public Job() => RunAction = Run;

        public void Bind(float* x, PackedConvWeights w, float* bias, bool relu, float max, float* pooled, in Conv2dGeometry g, int parts)
        {
            _x = x;
            _bias = bias;
            _pooled = pooled;
            (_w, _relu, _max, _g, _parts) = (w, relu, max, g, parts);
            _call = Interlocked.Increment(ref s_calls);
        }

        /// <summary>Unit u: image u / parts, its part u % parts of the output channels.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Run(int u, int thread)
        {
            var g = _g;
            int n = u / _parts, part = u % _parts;
            var (m0, m1) = PointwiseConv.PanelRows(_w.Level, g.K, part, _parts);
            if (m0 >= m1) return;
            int p = g.H * g.W;
            nint pitch = PointwiseConv.AlignedPitch(p);
            float* xs = Scratch.Get(Scratch.Slot.PaddedImage, g.C * pitch);
            if (t_copiedCall != _call || t_copiedImage != n)
            {
                PointwiseConv.CopyToPitch(_x + (nint)n * g.C * p, g.C, p, xs, pitch);
                (t_copiedCall, t_copiedImage) = (_call, n);
            }
            // The part's output rows, addressed from row 0 (only rows [m0, m1) are touched).
            float* y = Scratch.Get(Scratch.Slot.Columns, (m1 - m0) * pitch) - m0 * pitch;
            PointwiseConv.Block(_w, xs, pitch, y, pitch, null, _bias, 0, p, m0, m1, _relu, _max);
            float* o = _pooled + (nint)n * g.K;
            for (int k = m0; k < m1; k++) o[k] = TensorPrimitives.Sum(new ReadOnlySpan<float>(y + k * pitch, p)) / p;
        }
    }
}
