using CnnSharp.Data;

namespace CnnSharp.Tests.Data;

public sealed class DataLoaderTests
{
    /// <summary>N samples of shape (2, 3); sample i holds values 100*i + j and label i % 7.</summary>
    private static TensorDataset Numbered(int n)
    {
        var data = new float[n * 6];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < 6; j++)
                data[i * 6 + j] = 100 * i + j;
        return new TensorDataset(Tensor.FromArray(data, n, 2, 3), Enumerable.Range(0, n).Select(i => i % 7).ToArray());
    }

    private static void AssertBatchMatchesIndices(Batch batch)
    {
        for (int k = 0; k < batch.Count; k++)
        {
            int i = batch.Indices[k];
            Assert.Equal(i % 7, batch.Labels[k]);
            for (int j = 0; j < 6; j++)
                Assert.Equal(100 * i + j, batch.Images.Data[k * 6 + j]);
        }
    }

    [Theory]
    [InlineData(10, 3, false, 4, 1)]
    [InlineData(10, 3, true, 3, 3)]
    [InlineData(9, 3, false, 3, 3)]
    [InlineData(2, 5, false, 1, 2)]
    [InlineData(2, 5, true, 0, 0)]
    public void Batches_count_and_last_size_follow_drop_last(int n, int batchSize, bool dropLast, int expectedBatches, int lastSize)
    {
        var loader = new DataLoader(Numbered(n), batchSize, dropLast: dropLast);
        var batches = loader.Batches(0).ToList();
        Assert.Equal(expectedBatches, loader.BatchCount);
        Assert.Equal(expectedBatches, batches.Count);
        if (expectedBatches > 0)
        {
            Assert.Equal(lastSize, batches[^1].Count);
            Assert.Equal(new Shape(lastSize, 2, 3), batches[^1].Images.Shape);
        }
        Assert.All(batches.SkipLast(1), b => Assert.Equal(batchSize, b.Count));
    }

    [Fact]
    public void Without_shuffle_visits_samples_in_order_with_matching_data()
    {
        var loader = new DataLoader(Numbered(7), batchSize: 3);
        var batches = loader.ToList();
        Assert.Equal(Enumerable.Range(0, 7), batches.SelectMany(b => b.Indices));
        Assert.All(batches, AssertBatchMatchesIndices);
    }

    [Fact]
    public void Shuffle_is_a_permutation_with_matching_data()
    {
        var loader = new DataLoader(Numbered(50), batchSize: 8, shuffle: true, seed: 3);
        var batches = loader.Batches(0).ToList();
        int[] seen = batches.SelectMany(b => b.Indices).ToArray();
        Assert.Equal(Enumerable.Range(0, 50), seen.Order());
        Assert.NotEqual(Enumerable.Range(0, 50), seen);
        Assert.All(batches, AssertBatchMatchesIndices);
    }

    [Fact]
    public void Shuffle_order_is_determined_by_seed_and_epoch()
    {
        var a = new DataLoader(Numbered(40), 4, shuffle: true, seed: 11);
        var b = new DataLoader(Numbered(40), 4, shuffle: true, seed: 11);
        var c = new DataLoader(Numbered(40), 4, shuffle: true, seed: 12);
        Assert.Equal(a.Order(0), b.Order(0));
        Assert.Equal(a.Order(5), b.Order(5));
        Assert.NotEqual(a.Order(0), c.Order(0));
        Assert.NotEqual(a.Order(0), a.Order(1));
        // Order(e) does not depend on what ran before.
        _ = b.Order(3);
        Assert.Equal(a.Order(4), b.Order(4));
    }

    [Fact]
    public void Foreach_advances_epoch_and_reshuffles()
    {
        var loader = new DataLoader(Numbered(30), 30, shuffle: true, seed: 1);
        int[] first = loader.Single().Indices;
        int[] second = loader.Single().Indices;
        Assert.Equal(2, loader.Epoch);
        Assert.Equal(loader.Order(0), first);
        Assert.Equal(loader.Order(1), second);
        Assert.NotEqual(first, second);
    }

    [Fact]
    public void Batches_from_start_batch_resume_the_same_epoch()
    {
        var loader = new DataLoader(Numbered(25), 4, shuffle: true, seed: 9);
        var all = loader.Batches(2).ToList();
        var resumed = loader.Batches(2, startBatch: 3).ToList();
        Assert.Equal(all.Count - 3, resumed.Count);
        Assert.Equal(all.Skip(3).SelectMany(b => b.Indices), resumed.SelectMany(b => b.Indices));
        Assert.Empty(loader.Batches(2, loader.BatchCount));
        Assert.Throws<ArgumentOutOfRangeException>(() => loader.Batches(2, loader.BatchCount + 1));
    }

    [Fact]
    public void Default_batches_own_their_storage()
    {
        var batches = new DataLoader(Numbered(9), 3).Batches(0).ToList();
        Assert.All(batches, AssertBatchMatchesIndices); // kept batches were not overwritten by later ones
    }

    [Fact]
    public void Reused_buffers_are_shared_but_each_batch_is_correct_when_read()
    {
        var loader = new DataLoader(Numbered(8), 3, shuffle: true, seed: 5, reuseBuffers: true);
        var storages = new List<float[]>();
        foreach (var batch in loader)
        {
            AssertBatchMatchesIndices(batch);
            storages.Add(batch.Images.Storage);
        }
        Assert.Same(storages[0], storages[1]);
        Assert.NotSame(storages[0], storages[2]); // the partial batch has its own buffer
        Assert.Equal(2, storages[2].Length / 6);
    }

    [Fact]
    public void Reused_buffers_allocate_nothing_per_batch_in_steady_state()
    {
        // 100 samples in batches of 8: 12 full batches and a partial one of 4 per epoch.
        var loader = new DataLoader(Numbered(100), batchSize: 8, shuffle: true, seed: 5, reuseBuffers: true);
        float checksum = 0;
        foreach (var batch in loader.Batches(0)) checksum += batch.Images.Data[0]; // allocates the two shared batches
        const int epochs = 20;
        long before = GC.GetAllocatedBytesForCurrentThread();
        int batches = 0;
        for (int e = 1; e <= epochs; e++)
            foreach (var batch in loader.Batches(e))
            {
                checksum += batch.Images.Data[0] + batch.Labels[0];
                batches++;
            }
        long perBatch = (GC.GetAllocatedBytesForCurrentThread() - before) / batches;
        Assert.Equal(epochs * 13, batches);
        Assert.True(checksum > 0);
        // Only the epoch's order array (400 B) and enumerator remain, about 40 B per batch; a fresh batch would be > 200 B.
        Assert.True(perBatch < 100, $"{perBatch} bytes allocated per batch");
    }

    [Fact]
    public void Mnist_batches_have_shape_n_1_28_28_and_scaled_pixels()
    {
        var pixels = new byte[3 * 784];
        pixels[784 + 5] = 255;
        pixels[2 * 784] = 51;
        var set = new MnistDataset(pixels, new byte[] { 1, 2, 3 });
        var batch = new DataLoader(set, batchSize: 2).Batches(0).Last();
        Assert.Equal(new Shape(1, 1, 28, 28), batch.Images.Shape);
        Assert.Equal(0.2f, batch.Images.Data[0]);
        Assert.Equal(new[] { 3 }, batch.Labels);

        var first = new DataLoader(set, batchSize: 2).Batches(0).First();
        Assert.Equal(1f, first.Images.Data[784 + 5]);
        Assert.Equal(1f, first.Images.Data.ToArray().Sum());
    }

    [Fact]
    public void Constructor_rejects_nonpositive_batch_size()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new DataLoader(Numbered(3), 0));
    }

    [Fact]
    public void TensorDataset_rejects_label_count_mismatch()
    {
        var ex = Assert.Throws<ShapeException>(() => new TensorDataset(Tensor.Zeros(3, 2), [0, 1]));
        Assert.Contains("(3, 2)", ex.Message, StringComparison.Ordinal);
    }
}
