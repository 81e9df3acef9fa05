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

    /// <summary>
    /// Whether a training plan prefers an even chunk count that divides the batch exactly, between ceil(n/5) and
    /// ceil(n/4) chunks (batch 64: 16 chunks of 4 images instead of 14 of 4-5), so that on two threads the phase's last
    /// chunks end together instead of one thread finishing a 5-image chunk alone (read when a chain is planned; default
    /// on). Measured (`plan-ab --switch equal-chunks`, 2 threads, AVX-512, load ~8, docs/performance.md stop 15): ResNet-8
    /// batch 64 train wall 0.92-0.94x; VGG-small (64: 16 chunks) and ResNet-20 at batch 128 (32 chunks) within noise.
    /// </summary>
    internal static bool EqualChunks { get; set; } = true;

    // The chunk count for a batch of n: about ImagesPerChunk images each, a function of n (and the plan kind) only, never
    // of the thread count, so the chunk-ordered sums stay bit-identical for any number of threads.
    internal static int ChunkCount(int n, bool training)
    {
        int chunks = (n + ImagesPerChunk - 1) / ImagesPerChunk;
        if (training && EqualChunks)
        {
            for (int c = chunks; c <= (n + 3) / 4; c++)
                if (c % 2 == 0 && n % c == 0) return c;
        }
        return training && EvenChunks && chunks % 2 == 1 && chunks > 1 && chunks < n ? chunks + 1 : chunks;
    }
}
