namespace CnnSharp.Data;

/// <summary>Splits a dataset into disjoint random subsets, like PyTorch's <c>torch.utils.data.random_split</c>.</summary>
public static class DatasetSplit
{
    /// <summary>
    /// Splits <paramref name="dataset"/> into subsets of the given sizes: a seeded Fisher-Yates permutation of
    /// 0..N-1 (the <see cref="Generator"/> of <paramref name="seed"/>) is cut into consecutive runs of
    /// <paramref name="lengths"/>. The same seed always gives the same split.
    /// </summary>
    /// <param name="dataset">The dataset.</param>
    /// <param name="lengths">Subset sizes, each 0 or more, summing to the dataset's count.</param>
    /// <param name="seed">Seed of the permutation.</param>
    /// <returns>One <see cref="Subset"/> per length, in order.</returns>
    /// <exception cref="ArgumentException">A length is negative or they do not sum to the count.</exception>
    public static Subset[] RandomSplit(IDataset dataset, ReadOnlySpan<int> lengths, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        long sum = 0;
        foreach (int length in lengths)
        {
            if (length < 0)
                throw new ArgumentException($"RandomSplit: lengths must be 0 or more, got [{string.Join(", ", lengths.ToArray())}]", nameof(lengths));
            sum += length;
        }
        if (sum != dataset.Count)
            throw new ArgumentException($"RandomSplit: lengths [{string.Join(", ", lengths.ToArray())}] sum to {sum}, the dataset has {dataset.Count} samples", nameof(lengths));
        var order = new int[dataset.Count];
        for (int i = 0; i < order.Length; i++) order[i] = i;
        new Generator(seed).Shuffle(order.AsSpan());
        var result = new Subset[lengths.Length];
        int start = 0;
        for (int k = 0; k < lengths.Length; k++)
        {
            result[k] = new Subset(dataset, order.AsSpan(start, lengths[k]));
            start += lengths[k];
        }
        return result;
    }

    /// <summary>
    /// Holds out a fraction of <paramref name="dataset"/> for validation: <c>round(N * validationFraction)</c> samples
    /// (half to even) go to the validation subset, the rest to training, by <see cref="RandomSplit"/> with lengths
    /// (N - V, V).
    /// </summary>
    /// <param name="dataset">The dataset.</param>
    /// <param name="validationFraction">Fraction in [0, 1).</param>
    /// <param name="seed">Seed of the permutation.</param>
    /// <returns>The training and validation subsets.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="validationFraction"/> is outside [0, 1).</exception>
    public static (Subset Train, Subset Validation) TrainValidation(IDataset dataset, double validationFraction, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        if (!(validationFraction >= 0 && validationFraction < 1))
            throw new ArgumentOutOfRangeException(nameof(validationFraction), validationFraction, "TrainValidation: the fraction must be in [0, 1)");
        int validation = (int)Math.Round(dataset.Count * validationFraction, MidpointRounding.ToEven);
        var parts = RandomSplit(dataset, [dataset.Count - validation, validation], seed);
        return (parts[0], parts[1]);
    }
}
