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
    /// Runs <paramref name="body"/>(start, end) over a static split of [0, <paramref name="count"/>) into at most
    /// <see cref="MaxThreads"/> chunks; runs inline when one chunk suffices or <paramref name="count"/> is below <paramref name="minPerChunk"/>*2.
    /// </summary>
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
        Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = chunks }, i =>
        {
            int start = (int)((long)count * i / chunks);
            int end = (int)((long)count * (i + 1) / chunks);
            if (end > start) body(start, end);
        });
    }
}
