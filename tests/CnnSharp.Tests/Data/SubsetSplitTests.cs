using CnnSharp.Data;

namespace CnnSharp.Tests.Data;

public sealed class SubsetSplitTests
{
    /// <summary>N samples of shape (1, 1, 2): sample i holds (i, -i), label i % 3.</summary>
    private static TensorDataset Numbered(int n)
    {
        var data = new float[n * 2];
        for (int i = 0; i < n; i++) { data[2 * i] = i; data[2 * i + 1] = -i; }
        return new TensorDataset(Tensor.FromArray(data, n, 1, 1, 2), Enumerable.Range(0, n).Select(i => i % 3).ToArray());
    }

    [Fact]
    public void Subset_maps_its_indices_to_the_underlying_samples()
    {
        var subset = new Subset(Numbered(10), [7, 2, 2, 9]);
        Assert.Equal(4, subset.Count);
        Assert.Equal(new Shape(1, 1, 2), subset.SampleShape);
        var values = new float[6];
        var labels = new int[3];
        subset.Fill([3, 0, 1], values, labels);
        Assert.Equal([9f, -9f, 7f, -7f, 2f, -2f], values);
        Assert.Equal([0, 1, 2], labels);
        Assert.Throws<ArgumentOutOfRangeException>(() => subset.Fill([4], values, labels));
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new Subset(Numbered(3), [0, 3]));
        Assert.Contains("index 1 is 3, outside the dataset's [0, 3)", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Subset_fills_more_samples_than_one_index_chunk()
    {
        var all = Enumerable.Range(0, 600).Reverse().ToArray();
        var subset = new Subset(Numbered(600), all);
        var values = new float[1200];
        var labels = new int[600];
        subset.Fill(Enumerable.Range(0, 600).ToArray(), values, labels);
        for (int k = 0; k < 600; k++) Assert.Equal(599 - k, values[2 * k]);
    }

    [Fact]
    public void RandomSplit_is_a_seeded_partition_of_the_indices()
    {
        var data = Numbered(100);
        var parts = DatasetSplit.RandomSplit(data, [70, 20, 10], seed: 4);
        Assert.Equal([70, 20, 10], parts.Select(p => p.Count));
        Assert.Equal(Enumerable.Range(0, 100), parts.SelectMany(p => p.Indices).Order());
        // The permutation is the Generator's Fisher-Yates shuffle of 0..N-1, cut in order.
        var order = Enumerable.Range(0, 100).ToArray();
        new Generator(4).Shuffle(order.AsSpan());
        Assert.Equal(order[..70], parts[0].Indices);
        Assert.Equal(order[90..], parts[2].Indices);
        Assert.Equal(parts[1].Indices, DatasetSplit.RandomSplit(data, [70, 20, 10], seed: 4)[1].Indices);
        Assert.NotEqual(parts[1].Indices, DatasetSplit.RandomSplit(data, [70, 20, 10], seed: 5)[1].Indices);
    }

    [Fact]
    public void RandomSplit_refuses_lengths_that_do_not_sum_to_the_count()
    {
        var ex = Assert.Throws<ArgumentException>(() => DatasetSplit.RandomSplit(Numbered(10), [5, 4], seed: 0));
        Assert.Contains("sum to 9, the dataset has 10", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => DatasetSplit.RandomSplit(Numbered(10), [11, -1], seed: 0));
    }

    [Fact]
    public void TrainValidation_holds_out_the_rounded_fraction()
    {
        var (train, validation) = DatasetSplit.TrainValidation(Numbered(60), 0.1, seed: 1);
        Assert.Equal(54, train.Count);
        Assert.Equal(6, validation.Count);
        Assert.Empty(train.Indices.Intersect(validation.Indices));
        Assert.Equal(0, DatasetSplit.TrainValidation(Numbered(5), 0, seed: 1).Validation.Count);
        Assert.Throws<ArgumentOutOfRangeException>(() => DatasetSplit.TrainValidation(Numbered(5), 1.0, seed: 1));
    }
}
