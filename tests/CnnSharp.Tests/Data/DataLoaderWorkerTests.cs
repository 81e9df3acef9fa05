using CnnSharp.Data;
using CnnSharp.Data.Transforms;

namespace CnnSharp.Tests.Data;

/// <summary>DataLoader with transforms and worker threads: same batches as the single-threaded loader, per-sample seeds, prefetch, errors.</summary>
public sealed class DataLoaderWorkerTests
{
    /// <summary>N random images of shape (C, H, W) with labels i % 5.</summary>
    private static TensorDataset Images(int n, int c = 1, int h = 8, int w = 8)
    {
        var random = new Generator(123);
        var data = new float[n * c * h * w];
        for (int i = 0; i < data.Length; i++) data[i] = random.NextFloat();
        return new TensorDataset(Tensor.FromArray(data, n, c, h, w), Enumerable.Range(0, n).Select(i => i % 5).ToArray());
    }

    private static Compose Augment() => new Compose(
        new RandomCrop(8, padding: 2),
        new RandomHorizontalFlip(),
        new RandomAffine(15, translate: (0.1f, 0.1f), scale: (0.9f, 1.1f), interpolation: Interpolation.Bilinear),
        new Normalize([0.5f], [0.25f]));

    /// <summary>Every sample of an epoch as transformed, keyed by dataset index (batches copied, so buffer reuse cannot alias).</summary>
    private static Dictionary<int, (float[] Pixels, int Label)> Epoch(DataLoader loader, int epoch)
    {
        var samples = new Dictionary<int, (float[], int)>();
        int size = loader.SampleShape.Numel;
        foreach (var batch in loader.Batches(epoch))
        {
            Assert.Equal(batch.Count, batch.Images.Shape[0]);
            for (int k = 0; k < batch.Count; k++)
                samples.Add(batch.Indices[k], (batch.Images.Data.Slice(k * size, size).ToArray(), batch.Labels[k]));
        }
        return samples;
    }

    [Theory]
    [InlineData(1, 7, true)]
    [InlineData(3, 16, false)]
    [InlineData(4, 5, true)]
    public void Transformed_samples_do_not_depend_on_threads_batch_size_or_buffer_reuse(int workers, int batchSize, bool reuse)
    {
        var data = Images(37);
        var reference = Epoch(new DataLoader(data, 10, shuffle: true, seed: 9, transform: Augment()), 2);
        var other = Epoch(new DataLoader(data, batchSize, shuffle: true, seed: 9, reuseBuffers: reuse, transform: Augment(), numWorkers: workers), 2);
        Assert.Equal(37, other.Count);
        foreach (var (index, sample) in reference)
        {
            Assert.Equal(sample.Label, other[index].Label);
            Assert.Equal(sample.Pixels, other[index].Pixels);
        }
    }

    [Fact]
    public void A_sample_is_transformed_with_the_generator_of_seed_epoch_and_index()
    {
        var data = Images(6);
        var transform = Augment();
        var loader = new DataLoader(data, 4, shuffle: true, seed: 5, transform: transform, numWorkers: 2);
        var samples = Epoch(loader, 3);
        var raw = new float[64];
        var labels = new int[1];
        foreach (var (index, sample) in samples)
        {
            data.Fill([index], raw, labels);
            var expected = new float[64];
            transform.Apply(raw, new Shape(1, 8, 8), expected, new Generator(DataLoader.SampleSeed(5, 3, index)));
            Assert.Equal(expected, sample.Pixels);
        }
        // Another epoch draws other augmentations.
        var next = Epoch(loader, 4);
        Assert.Contains(samples.Keys, i => !samples[i].Pixels.SequenceEqual(next[i].Pixels));
    }

    [Fact]
    public void Workers_without_a_transform_give_the_same_batches_in_the_same_order()
    {
        var data = Images(50, c: 2, h: 3, w: 3);
        var plain = new DataLoader(data, 8, shuffle: true, seed: 1).Batches(1).ToList();
        var threaded = new DataLoader(data, 8, shuffle: true, seed: 1, numWorkers: 3).Batches(1).ToList();
        Assert.Equal(plain.Count, threaded.Count);
        for (int b = 0; b < plain.Count; b++)
        {
            Assert.Equal(plain[b].Indices, threaded[b].Indices);
            Assert.Equal(plain[b].Labels, threaded[b].Labels);
            Assert.Equal(plain[b].Images.Data.ToArray(), threaded[b].Images.Data.ToArray());
        }
    }

    [Fact]
    public void With_reused_buffers_and_prefetch_the_current_batch_is_not_overwritten_while_held()
    {
        var data = Images(40);
        var loader = new DataLoader(data, 8, reuseBuffers: true, numWorkers: 2);
        var expected = new float[8 * 64];
        var labels = new int[8];
        int b = 0;
        foreach (var batch in loader.Batches(0))
        {
            Thread.Sleep(20); // give the prefetch of the next batch time to run
            data.Fill(Enumerable.Range(b * 8, 8).ToArray(), expected, labels);
            Assert.Equal(expected, batch.Images.Data.ToArray());
            b++;
        }
        Assert.Equal(5, b);
    }

    [Fact]
    public void A_transform_that_changes_the_shape_sets_the_batch_shape()
    {
        var loader = new DataLoader(Images(5), 2, transform: new RandomCrop(4));
        Assert.Equal(new Shape(1, 4, 4), loader.SampleShape);
        Assert.Equal(new Shape(2, 1, 4, 4), loader.Batches(0).First().Images.Shape);
        Assert.Throws<ShapeException>(() => new DataLoader(Images(5), 2, transform: new RandomCrop(9)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new DataLoader(Images(5), 2, numWorkers: -1));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    public void A_dataset_error_surfaces_unchanged_from_the_enumerator(int workers)
    {
        var loader = new DataLoader(new FailingDataset(failAt: 13), 4, numWorkers: workers, transform: new RandomHorizontalFlip());
        var seen = new List<int>();
        var ex = Assert.Throws<ImageFormatException>(() =>
        {
            foreach (var batch in loader.Batches(0)) seen.AddRange(batch.Indices);
        });
        Assert.Contains("sample 13", ex.Message, StringComparison.Ordinal);
        Assert.Equal(Enumerable.Range(0, 12), seen);
    }

    [Fact]
    public void Leaving_a_prefetching_loop_early_is_clean()
    {
        var loader = new DataLoader(Images(40), 4, numWorkers: 2, transform: Augment());
        foreach (var batch in loader.Batches(0))
        {
            Assert.Equal(4, batch.Count);
            break;
        }
        Assert.Equal(10, loader.Batches(0).Count());
    }

    /// <summary>Samples are their index; filling sample <c>failAt</c> throws.</summary>
    private sealed class FailingDataset(int failAt) : IDataset
    {
        public int Count => 20;

        public Shape SampleShape { get; } = new(1, 1, 2);

        public void Fill(ReadOnlySpan<int> indices, Span<float> destination, Span<int> labels)
        {
            for (int k = 0; k < indices.Length; k++)
            {
                if (indices[k] == failAt) throw new ImageFormatException($"img{failAt}.png", $"sample {failAt} is broken");
                destination[2 * k] = destination[2 * k + 1] = indices[k];
                labels[k] = 0;
            }
        }
    }
}
