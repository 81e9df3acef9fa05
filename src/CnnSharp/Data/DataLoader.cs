using System.Buffers;
using System.Collections;
using System.Runtime.ExceptionServices;
using CnnSharp.Data.Transforms;

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
/// <para>Transforms: with a <see cref="Transform"/>, every sample is transformed after the dataset fills it, with a
/// <see cref="Generator"/> seeded by (<see cref="Seed"/>, epoch, the sample's dataset index), so its augmentation in an
/// epoch is the same whatever the batch size, the thread count or the order of the threads (and also without
/// shuffling). Batches have shape (B, ...<see cref="SampleShape"/>), the transform's output shape.</para>
/// <para>Workers: with <see cref="NumWorkers"/> = n &gt; 0, each batch is split into up to n contiguous parts that n
/// threads fill and transform at once, and the next batch is produced in the background while the consumer works on
/// the current one (one batch of prefetch, PyTorch's worker processes in spirit). The batches and their contents are
/// identical to those of n = 0. The dataset's <see cref="IDataset.Fill"/> is then called concurrently for disjoint
/// parts of a batch (every dataset of this library allows it). With <see cref="ReuseBuffers"/> the loader alternates
/// between two batch objects so that the prefetched batch never overwrites the one in use. An exception of the
/// dataset or a transform surfaces, unchanged, from the enumerator's <c>MoveNext</c> for that batch; leaving a
/// <c>foreach</c> early waits for the background batch to finish.</para>
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
    private readonly int _sampleSize, _inputSize;

    // With ReuseBuffers: the batch objects (tensor, labels, indices) of full batches (two, alternating, when
    // prefetching) and of the final partial batch.
    private readonly Batch?[] _full = new Batch?[2];
    private Batch? _partial;

    /// <summary>Creates a loader.</summary>
    /// <param name="dataset">The samples.</param>
    /// <param name="batchSize">Samples per batch B (PyTorch default 1).</param>
    /// <param name="shuffle">Whether each epoch visits the samples in a fresh seeded random order.</param>
    /// <param name="seed">Seed of the shuffling order and of the transforms' random numbers.</param>
    /// <param name="dropLast">Whether to skip the final partial batch (PyTorch's <c>drop_last</c>, default false).</param>
    /// <param name="reuseBuffers">Whether batches share storage (valid only until the next batch); see the remarks.</param>
    /// <param name="transform">Applied to every sample after loading (e.g. a <c>CnnSharp.Data.Transforms.Compose</c> of augmentations); null for none.</param>
    /// <param name="numWorkers">Threads that fill and transform each batch, with the next batch prefetched in the background; 0 (default) loads on the consumer's thread.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="batchSize"/> is not positive, <paramref name="numWorkers"/> is negative, or a batch would exceed the largest array.</exception>
    /// <exception cref="ShapeException">The transform cannot take the dataset's sample shape.</exception>
    public DataLoader(IDataset dataset, int batchSize = 1, bool shuffle = false, ulong seed = 0, bool dropLast = false, bool reuseBuffers = false,
        ITransform? transform = null, int numWorkers = 0)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        ArgumentOutOfRangeException.ThrowIfNegative(numWorkers);
        Dataset = dataset;
        BatchSize = batchSize;
        Shuffle = shuffle;
        Seed = seed;
        DropLast = dropLast;
        ReuseBuffers = reuseBuffers;
        Transform = transform;
        NumWorkers = numWorkers;
        SampleShape = transform?.OutputShape(dataset.SampleShape) ?? dataset.SampleShape;
        _inputSize = dataset.SampleShape.Numel;
        _sampleSize = SampleShape.Numel;
        if ((long)batchSize * Math.Max(_sampleSize, _inputSize) > Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize,
                $"a batch of {batchSize} samples of shape {SampleShape} exceeds the largest array");
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

    /// <summary>The per-sample transform, or null.</summary>
    public ITransform? Transform { get; }

    /// <summary>Threads that load each batch (0: the consumer's thread, no prefetch).</summary>
    public int NumWorkers { get; }

    /// <summary>Shape of one sample of the batches: the transform's output shape, else the dataset's.</summary>
    public Shape SampleShape { get; }

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
        if (NumWorkers == 0)
        {
            for (int b = startBatch; b < batches; b++)
            {
                var batch = BatchFor(b, order.Length);
                Load(order, b, batch, epoch);
                yield return batch;
            }
            yield break;
        }

        // One batch ahead: batch b + 1 is loaded in the background while the consumer holds batch b.
        Task<Batch>? pending = startBatch < batches ? Prefetch(order, startBatch, epoch) : null;
        try
        {
            for (int b = startBatch; b < batches; b++)
            {
                Batch batch = pending!.GetAwaiter().GetResult(); // rethrows the load's exception unwrapped
                pending = b + 1 < batches ? Prefetch(order, b + 1, epoch) : null;
                yield return batch;
            }
        }
        finally
        {
            // Leaving early: let the background batch finish before its buffers can be handed out again.
            if (pending is not null)
            {
                try { pending.Wait(); }
                catch (AggregateException) { /* the consumer has left; the error of a batch it never asked for is moot */ }
            }
        }
    }

    /// <summary>Starts loading batch <paramref name="b"/>; its batch object is chosen here, on the consumer's thread.</summary>
    private Task<Batch> Prefetch(int[] order, int b, int epoch)
    {
        var batch = BatchFor(b, order.Length);
        return Task.Run(() =>
        {
            Load(order, b, batch, epoch);
            return batch;
        });
    }

    /// <summary>The batch object for batch <paramref name="b"/>: fresh, or shared (alternating between two for full batches).</summary>
    private Batch BatchFor(int b, int total)
    {
        int count = Math.Min(BatchSize, total - b * BatchSize);
        if (!ReuseBuffers) return NewBatch(count);
        if (count != BatchSize)
        {
            if (_partial?.Count != count) _partial = NewBatch(count);
            return _partial;
        }
        int slot = NumWorkers == 0 ? 0 : b & 1;
        return _full[slot] ??= NewBatch(count);
    }

    /// <summary>Fills <paramref name="batch"/> with batch <paramref name="b"/> of the epoch: indices, samples (transformed), labels.</summary>
    private void Load(int[] order, int b, Batch batch, int epoch)
    {
        int count = batch.Count;
        order.AsSpan(b * BatchSize, count).CopyTo(batch.Indices);
        int parts = Math.Clamp(NumWorkers, 1, count);
        if (parts == 1)
        {
            LoadPart(batch, 0, count, epoch);
            return;
        }
        try
        {
            Parallel.For(0, parts, new ParallelOptions { MaxDegreeOfParallelism = parts }, p =>
            {
                int start = (int)((long)count * p / parts), end = (int)((long)count * (p + 1) / parts);
                LoadPart(batch, start, end - start, epoch);
            });
        }
        catch (AggregateException ex) when (ex.InnerExceptions.Count > 0)
        {
            ExceptionDispatchInfo.Throw(ex.InnerExceptions[0]);
        }
    }

    /// <summary>Fills and transforms samples [start, start + count) of the batch.</summary>
    private void LoadPart(Batch batch, int start, int count, int epoch)
    {
        ReadOnlySpan<int> indices = batch.Indices.AsSpan(start, count);
        Span<float> images = batch.Images.Storage.AsSpan(start * _sampleSize, count * _sampleSize);
        Span<int> labels = batch.Labels.AsSpan(start, count);
        if (Transform is null)
        {
            Dataset.Fill(indices, images, labels);
            return;
        }
        float[] raw = ArrayPool<float>.Shared.Rent(count * _inputSize);
        try
        {
            Dataset.Fill(indices, raw.AsSpan(0, count * _inputSize), labels);
            for (int k = 0; k < count; k++)
                Transform.Apply(raw.AsSpan(k * _inputSize, _inputSize), Dataset.SampleShape, images.Slice(k * _sampleSize, _sampleSize),
                    new Generator(SampleSeed(Seed, epoch, indices[k])));
        }
        finally
        {
            ArrayPool<float>.Shared.Return(raw);
        }
    }

    private Batch NewBatch(int count)
    {
        var shape = new Shape([count, .. SampleShape.Dims]);
        var images = new Tensor(GC.AllocateUninitializedArray<float>(count * _sampleSize), shape);
        return new Batch(images, new int[count], new int[count]);
    }

    /// <summary>Mixes the seed and the epoch into one generator seed (two rounds of the SplitMix64 finaliser).</summary>
    private static ulong EpochSeed(ulong seed, int epoch) => Mix(seed ^ Mix((ulong)epoch + 0x9E3779B97F4A7C15UL));

    /// <summary>
    /// The seed of sample <paramref name="index"/>'s transform in <paramref name="epoch"/>: the epoch seed mixed with
    /// the index and a constant that keeps it apart from the shuffling stream.
    /// </summary>
    internal static ulong SampleSeed(ulong seed, int epoch, int index) =>
        Mix(EpochSeed(seed, epoch) ^ Mix(((ulong)(uint)index << 1 | 1) + 0xD1B54A32D192ED03UL));

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
