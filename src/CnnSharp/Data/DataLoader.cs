using System.Collections;

namespace CnnSharp.Data;

/// <summary>
/// Splits a dataset into mini-batches, optionally in a seeded random order, like PyTorch's <c>DataLoader</c>
/// (<c>batch_size</c>, <c>shuffle</c>, <c>drop_last</c>; single process).
/// </summary>
/// <remarks>
/// <para>An epoch visits every sample once. Without shuffling the order is 0, 1, ..., N-1. With shuffling, epoch
/// <c>e</c> uses a Fisher-Yates permutation drawn from a <see cref="Generator"/> seeded by (<see cref="Seed"/>,
/// <c>e</c>): the same seed and epoch always give the same order, different epochs give different orders, and the order
/// of an epoch does not depend on which epochs were iterated before, so a resumed run can rebuild it with
/// <see cref="Batches(int, int)"/>.</para>
/// <para>There are <c>ceil(N / B)</c> batches per epoch, the last one holding the remaining <c>N mod B</c> samples
/// when that is not zero; with <see cref="DropLast"/> that partial batch is skipped and there are <c>floor(N / B)</c>.</para>
/// <para>Buffer contract: by default every <see cref="Batch"/> owns fresh arrays, so a consumer may keep batches
/// indefinitely. With <see cref="ReuseBuffers"/> the loader hands out the same <see cref="Batch"/> object every time (one
/// for full batches, one for the final partial batch), refilling its images, labels and indices, so a batch is valid
/// only until the enumerator moves on; in a training loop that finishes with each batch before asking for the next, a
/// batch then costs no allocation at all (the epoch's order array and enumerator are allocated once per epoch).</para>
/// </remarks>
/// <example>
/// <code>
/// var loader = new DataLoader(mnist.Train, batchSize: 64, shuffle: true, seed: 42);
/// foreach (Batch batch in loader)            // each foreach is the next epoch
///     Train(batch.Images, batch.Labels);     // (64, 1, 28, 28) and 64 labels; the last batch has 60000 % 64 = 32
/// </code>
/// </example>
public sealed class DataLoader : IEnumerable<Batch>
{
    private readonly int _sampleSize;

    // With ReuseBuffers: the batch object (tensor, labels, indices) of full batches and of the final partial batch.
    private Batch? _full, _partial;

    /// <summary>Creates a loader.</summary>
    /// <param name="dataset">The samples.</param>
    /// <param name="batchSize">Samples per batch B (PyTorch default 1).</param>
    /// <param name="shuffle">Whether each epoch visits the samples in a fresh seeded random order.</param>
    /// <param name="seed">Seed of the shuffling order; ignored without <paramref name="shuffle"/>.</param>
    /// <param name="dropLast">Whether to skip the final partial batch (PyTorch's <c>drop_last</c>, default false).</param>
    /// <param name="reuseBuffers">Whether batches share storage (valid only until the next batch); see the remarks.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="batchSize"/> is not positive or a batch would exceed the largest array.</exception>
    public DataLoader(IDataset dataset, int batchSize = 1, bool shuffle = false, ulong seed = 0, bool dropLast = false, bool reuseBuffers = false)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        Dataset = dataset;
        BatchSize = batchSize;
        Shuffle = shuffle;
        Seed = seed;
        DropLast = dropLast;
        ReuseBuffers = reuseBuffers;
        _sampleSize = dataset.SampleShape.Numel;
        if ((long)batchSize * _sampleSize > Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize,
                $"a batch of {batchSize} samples of shape {dataset.SampleShape} exceeds the largest array");
    }

    /// <summary>The dataset batched.</summary>
    public IDataset Dataset { get; }

    /// <summary>Samples per batch.</summary>
    public int BatchSize { get; }

    /// <summary>Whether epochs use a seeded random order.</summary>
    public bool Shuffle { get; }

    /// <summary>Seed of the shuffling order.</summary>
    public ulong Seed { get; }

    /// <summary>Whether the final partial batch is skipped.</summary>
    public bool DropLast { get; }

    /// <summary>Whether batches share storage and are valid only until the next one is produced.</summary>
    public bool ReuseBuffers { get; }

    /// <summary>The epoch the next <c>foreach</c> (<see cref="GetEnumerator"/>) runs; each call increments it. Starts at 0; set it when resuming.</summary>
    public int Epoch { get; set; }

    /// <summary>Batches per epoch: <c>ceil(N / B)</c>, or <c>floor(N / B)</c> with <see cref="DropLast"/> (PyTorch's <c>len(loader)</c>).</summary>
    public int BatchCount => DropLast ? Dataset.Count / BatchSize : (int)(((long)Dataset.Count + BatchSize - 1) / BatchSize);

    /// <summary>The order in which epoch <paramref name="epoch"/> visits the dataset's indices (a permutation of 0..N-1).</summary>
    /// <param name="epoch">Epoch number, 0 or more.</param>
    /// <returns>A new array of N indices.</returns>
    public int[] Order(int epoch)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        var order = new int[Dataset.Count];
        for (int i = 0; i < order.Length; i++) order[i] = i;
        if (Shuffle)
            new Generator(EpochSeed(Seed, epoch)).Shuffle(order.AsSpan());
        return order;
    }

    /// <summary>The batches of epoch <paramref name="epoch"/>, starting at batch <paramref name="startBatch"/> (for resuming mid-epoch).</summary>
    /// <param name="epoch">Epoch number, 0 or more; selects the shuffling order.</param>
    /// <param name="startBatch">Index of the first batch to produce, in [0, <see cref="BatchCount"/>].</param>
    /// <returns>A lazy sequence; the dataset is read as each batch is requested.</returns>
    /// <exception cref="ArgumentOutOfRangeException">An argument is out of range.</exception>
    public IEnumerable<Batch> Batches(int epoch, int startBatch = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        if ((uint)startBatch > (uint)BatchCount)
            throw new ArgumentOutOfRangeException(nameof(startBatch), startBatch, $"must be in [0, {BatchCount}]");
        return Iterate(epoch, startBatch);
    }

    /// <summary>Runs epoch <see cref="Epoch"/> and increments it, so successive <c>foreach</c> loops see successive epochs.</summary>
    public IEnumerator<Batch> GetEnumerator() => Batches(Epoch++).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private IEnumerable<Batch> Iterate(int epoch, int startBatch)
    {
        int[] order = Order(epoch);
        int batches = BatchCount;
        for (int b = startBatch; b < batches; b++)
        {
            int start = b * BatchSize;
            int count = Math.Min(BatchSize, order.Length - start);
            var batch = ReuseBuffers ? ReusedBatch(count) : NewBatch(count);
            order.AsSpan(start, count).CopyTo(batch.Indices);
            Dataset.Fill(batch.Indices, batch.Images.Storage, batch.Labels);
            yield return batch;
        }
    }

    /// <summary>The shared batch of <paramref name="count"/> samples (allocated on first use): no allocation per batch.</summary>
    private Batch ReusedBatch(int count)
    {
        if (count == BatchSize) return _full ??= NewBatch(count);
        if (_partial?.Count != count) _partial = NewBatch(count);
        return _partial;
    }

    private Batch NewBatch(int count)
    {
        var shape = new Shape([count, .. Dataset.SampleShape.Dims]);
        var images = new Tensor(GC.AllocateUninitializedArray<float>(count * _sampleSize), shape);
        return new Batch(images, new int[count], new int[count]);
    }

    /// <summary>Mixes the seed and the epoch into one generator seed (two rounds of the SplitMix64 finaliser).</summary>
    private static ulong EpochSeed(ulong seed, int epoch)
    {
        static ulong Mix(ulong z)
        {
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
        return Mix(seed ^ Mix((ulong)epoch + 0x9E3779B97F4A7C15UL));
    }
}
