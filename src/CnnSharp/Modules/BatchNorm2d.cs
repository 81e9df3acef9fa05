namespace CnnSharp.Modules;

/// <summary>Batch normalisation over the channels of (N, C, H, W) input (PyTorch's <c>nn.BatchNorm2d</c>).</summary>
/// <remarks>
/// <c>y = (x - mean[c]) / sqrt(var[c] + eps) * weight[c] + bias[c]</c>, statistics over N, H and W; see
/// <see cref="BatchNormBase"/> for training/eval behaviour and state-dict keys (<c>weight</c>, <c>bias</c>,
/// <c>running_mean</c>, <c>running_var</c>, <c>num_batches_tracked</c>).
/// </remarks>
/// <example><code>var bn = new BatchNorm2d(16); // after Conv2d(1, 16, ...), as in the tutorial's ConvNet</code></example>
public sealed class BatchNorm2d : BatchNormBase
{
    /// <summary>Creates the layer with PyTorch's defaults.</summary>
    /// <param name="numFeatures">Number of channels C.</param>
    /// <param name="eps">Added to the variance for numerical stability.</param>
    /// <param name="momentum">Weight of each new batch statistic in the running average; null for a cumulative average.</param>
    /// <param name="affine">Learn a per-channel weight and bias.</param>
    /// <param name="trackRunningStats">Keep running statistics for eval mode.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="numFeatures"/> is not positive or <paramref name="eps"/> is negative.</exception>
    public BatchNorm2d(int numFeatures, float eps = 1e-5f, float? momentum = 0.1f, bool affine = true, bool trackRunningStats = true)
        : base(numFeatures, eps, momentum, affine, trackRunningStats)
    {
    }

    /// <inheritdoc />
    protected override void CheckInputRank(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Rank != 4) throw new ShapeException(RankMessage(input, "4-D (N, C, H, W)"));
    }
}
