namespace CnnSharp.Compile.Ops;

/// <summary>How <see cref="ConvChainOp"/> cuts the batch into work chunks.</summary>
internal sealed partial class ConvChainOp
{
    /// <summary>
    /// Whether a training plan's odd chunk count is raised by one (default on; read when a chain is planned; off for
    /// benchmarks' A/B):
    /// on two threads an odd count leaves one thread a whole chunk of the phase alone (batch 64: 13 chunks of 5 images,
    /// 7 against 6), an even one of about the same size splits the images evenly (14 chunks of 4-5 images, 32 each).
    /// Measured on ResNet-8's training step, batch 64: process CPU 0.94x (docs/performance.md, stop 12); its eval forward
    /// read 1.02-1.10x in the same runs (within this machine's noise, not confirmed), so inference plans keep the odd count.
    /// </summary>
    internal static bool EvenChunks { get; set; } = true;

    // The chunk count for a batch of n: about ImagesPerChunk images each, a function of n (and the plan kind) only, never
    // of the thread count, so the chunk-ordered sums stay bit-identical for any number of threads.
    internal static int ChunkCount(int n, bool training)
    {
        int chunks = (n + ImagesPerChunk - 1) / ImagesPerChunk;
        return training && EvenChunks && chunks % 2 == 1 && chunks > 1 && chunks < n ? chunks + 1 : chunks;
    }
}
