namespace CnnSharp.Kernels;

/// <summary>
/// The kernels' view of the thread budget (<see cref="ExecutionOptions.Current"/>), and a static split of a range over
/// the worker pool. The public way to set threads is <see cref="ExecutionOptions"/>.
/// </summary>
internal static class Parallelism
{
    /// <summary>
    /// Threads a kernel may use now: <see cref="ExecutionOptions.Current"/>'s. Setting it replaces the process default
    /// (tests and benchmarks; library code uses <see cref="ExecutionOptions.Use"/> scopes).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is less than 1.</exception>
    public static int MaxThreads
    {
        get => ExecutionOptions.Current.Threads;
        set => ExecutionOptions.Default = ExecutionOptions.Default with { Threads = value };
    }

    /// <summary>
    /// Runs <paramref name="body"/>(start, end) on the persistent <see cref="WorkerPool"/> (chunk 0 on the calling thread)
    /// over a static split of [0, <paramref name="count"/>) into at most
    /// <see cref="MaxThreads"/> chunks; runs inline when one chunk suffices or <paramref name="count"/> is below <paramref name="minPerChunk"/>*2.
    /// </summary>
    /// <remarks>A call made from inside another region (or while another thread holds the pool) runs its chunks inline.</remarks>
    public static void For(int count, Action<int, int> body, int minPerChunk = 1)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (count <= 0) return;
        int chunks = Math.Min(MaxThreads, Math.Max(1, count / Math.Max(1, minPerChunk)));
        if (chunks <= 1)
        {
            body(0, count);
            return;
        }
        WorkerPool.Shared.For(count, chunks, body);
    }
}
