using CnnSharp.Kernels;

namespace CnnSharp.Compile.Ops;

/// <summary>Splits an element range over the worker threads in cache-sized chunks (element-wise ops and their backward).</summary>
internal static class Chunks
{
    // 16 K floats (64 KB) per chunk: large enough that dispatch is noise, small enough to balance two cores.
    private const int MinPerChunk = 1 << 14;

    /// <summary>Runs <paramref name="body"/>(start, end) over [0, length) on up to <see cref="Parallelism.MaxThreads"/> threads.</summary>
    public static void Run(int length, Action<int, int> body) => Parallelism.For(length, body, MinPerChunk);
}
