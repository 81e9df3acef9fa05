using CnnSharp.Compile.Ops;
using CnnSharp.Models;
using CnnSharp.Optimizers;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Compile.Ops;

/// <summary>
/// The conv chains' work chunks (<c>ConvChainOp.ChunkCount</c>): about five images each; in training an even count that
/// divides the batch (4-5 images per chunk) where one exists, else an odd count raised to an even one, so two threads
/// split the batch evenly; and a function of the batch size alone, so a batch whose chunks differ
/// in size still trains to the same bits on any thread count.
/// </summary>
public sealed class ConvChainChunkingTests
{
    [Theory]
    [InlineData(1, 1)]
    [InlineData(5, 1)]
    [InlineData(6, 2)]
    [InlineData(11, 4)]
    [InlineData(48, 12)]
    [InlineData(64, 16)]
    [InlineData(100, 20)]
    [InlineData(128, 32)]
    [InlineData(130, 26)]
    public void Training_chunk_count_is_even_past_one_chunk(int batch, int chunks)
    {
        Assert.Equal(chunks, ConvChainOp.ChunkCount(batch, training: true));
        Assert.Equal((batch + 4) / 5, ConvChainOp.ChunkCount(batch, training: false));
    }

    [Fact]
    public void Uneven_chunks_train_to_the_same_bits_on_any_thread_count() => ThreadCount.AssertInvariant(() =>
    {
        // Batch 11: three chunks of five become four of two or three images.
        var model = ModelZoo.Create("resnet8", new ZooOptions { NumClasses = 10, Generator = new Generator(7) });
        int[] shape = [11, .. ModelZoo.Get("resnet8").InputShape];
        int[] labels = [.. Enumerable.Range(0, shape[0]).Select(i => (i * 3 + 2) % 10)];
        var compiled = model.Compile();
        var sgd = new Sgd(model.Parameters(), lr: 0.05f, momentum: 0.9f);
        float[] losses = new float[2];
        for (int step = 0; step < 2; step++)
        {
            losses[step] = compiled.TrainStep(Tensor.Randn(new Generator((ulong)(30 + step)), shape), labels);
            sgd.Step();
        }
        Assert.Null(compiled.FallbackReason);
        return [losses, .. model.Parameters().Select(p => p.ToArray()), .. model.NamedBuffers().Select(b => b.Value.ToArray())];
    });
}
