namespace CnnSharp.Kernels;

/// <summary>
/// The library's thread budget for kernels. Work is split statically into at most <see cref="MaxThreads"/> contiguous chunks.
/// </summary>
public static class Parallelism
{
    private static int s_maxThreads = Environment.ProcessorCount;

    /// <summary>Maximum number of threads a kernel may use (default: the processor count). Set to 1 for single-threaded runs.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is less than 1.</exception>
    public static int MaxThreads
    {
        get => s_maxThreads;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            s_maxThreads = value;
        }
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
