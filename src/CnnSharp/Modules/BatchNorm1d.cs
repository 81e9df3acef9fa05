namespace CnnSharp.Modules;

/// <summary>Batch normalisation over the channels of (N, C) or (N, C, L) input (PyTorch's <c>nn.BatchNorm1d</c>).</summary>
/// <remarks>
/// <c>y = (x - mean[c]) / sqrt(var[c] + eps) * weight[c] + bias[c]</c>, statistics over N (and L); see
/// <see cref="BatchNormBase"/> for training/eval behaviour and state-dict keys.
/// </remarks>
/// <example><code>var bn = new BatchNorm1d(128); // after Linear(..., 128)</code></example>
public sealed class BatchNorm1d : BatchNormBase
{
    /// <summary>Creates the layer with PyTorch's defaults.</summary>
    /// <param name="numFeatures">Number of channels C.</param>
    /// <param name="eps">Added to the variance for numerical stability.</param>
    /// <param name="momentum">Weight of each new batch statistic in the running average; null for a cumulative average.</param>
    /// <param name="affine">Learn a per-channel weight and bias.</param>
    /// <param name="trackRunningStats">Keep running statistics for eval mode.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="numFeatures"/> is not positive or <paramref name="eps"/> is negative.</exception>
    public BatchNorm1d(int numFeatures, float eps = 1e-5f, float? momentum = 0.1f, bool affine = true, bool trackRunningStats = true)
        : base(numFeatures, eps, momentum, affine, trackRunningStats)
    {
    }

    /// <inheritdoc />
    protected override void CheckInputRank(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Rank is not (2 or 3)) throw new ShapeException(RankMessage(input, "2-D (N, C) or 3-D (N, C, L)"));
    }
}
