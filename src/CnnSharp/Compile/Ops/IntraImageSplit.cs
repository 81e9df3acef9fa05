using CnnSharp.Kernels;

namespace CnnSharp.Compile.Ops;

/// <summary>
/// Parallel thresholds of <see cref="Conv2dOp"/> when a call has fewer images than threads (batch-1 inference): the
/// convolution kernels then split one image over the threads (output-channel planes for the depthwise and grouped
/// kernels, pixel and output-channel ranges for the GEMM and pointwise kernels) from far smaller sizes than their
/// batch defaults.
/// </summary>
/// <remarks>
/// <para>Why: the kernels' defaults (<see cref="ConvGemm.ParallelThresholdMacs"/>, 8.4M multiply-adds;
/// <see cref="GroupedConv2d.ParallelThresholdMacs"/>, 1M) are sized for a worker that may have to be woken from sleep.
/// At batch 1 every convolution of MobileNet-v2 and ShuffleNet-v2 but a few is below them (ShuffleNet-v2's 1x1 convs
/// have 2.6M, its depthwise convs 0.1-0.4M), so one of two threads idled through most of the plan. Inside a plan the
/// ops follow each other within the worker's spin window (<see cref="WorkerPool.SpinMicroseconds"/>), so a handoff
/// costs a few microseconds (4-8 us measured on the project's 2-core VM), and <see cref="WorkerPool.RunDynamic"/> never
/// makes the caller wait for a worker that has not started. On cores oversubscribed by other processes the two threads
/// rarely run at once and the split loses (docs/performance.md, stop 12).</para>
/// <para>Results do not change: every kernel computes each output value in the same order whatever its split (see
/// their remarks), so the plan's outputs are the same bits for any thread count with this split on or off.</para>
/// </remarks>
internal static class IntraImageSplit
{
    /// <summary>Whether the lower thresholds apply (default true); process-wide, off only in A/B benchmarks.</summary>
    internal static bool Enabled { get; set; } = true;

    /// <summary>
    /// GEMM and pointwise convolutions of at least this many multiply-adds (a few microseconds on one core) are split;
    /// it is also their smallest unit (<see cref="ConvGemm.Split"/>).
    /// </summary>
    internal const long GemmThresholdMacs = 1L << 18;

    /// <summary>
    /// Depthwise and grouped convolutions of at least this many multiply-adds are split (their units are whole
    /// output-channel planes; ShuffleNet-v2's smallest depthwise layer, 232 planes of 7x7, has 0.1M).
    /// </summary>
    internal const long GroupedThresholdMacs = 1L << 16;

    /// <summary>
    /// Calls on this thread that the lower thresholds made parallel and the defaults would have left on one thread (tests
    /// check that a plan exercises the split; per thread, so tests running beside it do not move the count).
    /// </summary>
    [ThreadStatic] internal static long Splits;

    /// <summary>Whether a call of geometry <paramref name="g"/> on <paramref name="threads"/> threads takes the lower thresholds
    /// (when it is below the batch threshold).</summary>
    public static bool Applies(in Conv2dGeometry g, int threads) => Enabled && threads > 1 && g.N < threads;

    /// <summary>The parallel threshold for <see cref="ConvGemm"/> and <see cref="PointwiseConv"/>.</summary>
    public static long GemmThreshold(in Conv2dGeometry g, int threads) =>
        Threshold(g, threads, GemmThresholdMacs, ConvGemm.ParallelThresholdMacs);

    /// <summary>The parallel threshold for <see cref="GroupedConv2d"/> (and the depthwise 3x3 kernel behind it).</summary>
    public static long GroupedThreshold(in Conv2dGeometry g, int threads) =>
        Threshold(g, threads, GroupedThresholdMacs, GroupedConv2d.ParallelThresholdMacs);

    // Convolutions the batch threshold already splits keep it, and so their unit sizes (ConvGemm.Split's smallest unit
    // is the threshold when that is lower): only what would have run on one thread changes.
    private static long Threshold(in Conv2dGeometry g, int threads, long low, long batch)
    {
        if (!Applies(g, threads) || g.Macs >= batch) return batch;
        if (g.Macs >= low) Splits++;
        return low;
    }
}
