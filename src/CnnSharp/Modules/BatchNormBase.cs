using CnnSharp.Functional;

namespace CnnSharp.Modules;

/// <summary>
/// Shared state and forward of <see cref="BatchNorm1d"/> and <see cref="BatchNorm2d"/> (PyTorch's <c>_BatchNorm</c>):
/// parameters <c>weight</c> (ones) and <c>bias</c> (zeros) when affine, buffers <c>running_mean</c> (zeros),
/// <c>running_var</c> (ones) and <c>num_batches_tracked</c> when tracking running statistics.
/// </summary>
/// <remarks>
/// In training mode (<see cref="Module.Training"/>) the layer normalises with the batch statistics, updates the running
/// ones with <see cref="Momentum"/> (running_var from the unbiased batch variance) and increments <c>num_batches_tracked</c>;
/// in eval mode it uses the running statistics. Without running statistics it always uses batch statistics.
/// With a null <see cref="Momentum"/> the running statistics are the cumulative average: the update factor is
/// <c>1 / num_batches_tracked</c>. <c>num_batches_tracked</c> is a shape-() float32 tensor here; PyTorch stores it as int64
/// (exact up to 2^24 steps here, far beyond any training run).
/// </remarks>
public abstract class BatchNormBase : Module
{
    /// <summary>Creates the layer.</summary>
    /// <param name="numFeatures">Number of channels C.</param>
    /// <param name="eps">Added to the variance for numerical stability.</param>
    /// <param name="momentum">Weight of each new batch statistic in the running average; null for a cumulative average.</param>
    /// <param name="affine">Learn a per-channel scale (weight) and shift (bias).</param>
    /// <param name="trackRunningStats">Keep running statistics for eval mode.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="numFeatures"/> is not positive, <paramref name="eps"/> is
    /// negative or <paramref name="momentum"/> is NaN or infinite.</exception>
    protected BatchNormBase(int numFeatures, float eps, float? momentum, bool affine, bool trackRunningStats)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(numFeatures);
        if (!(eps >= 0)) throw new ArgumentOutOfRangeException(nameof(eps), eps, "BatchNorm: eps must be non-negative");
        // A NaN momentum was accepted and turned the running statistics into NaN on the first training batch, so the model
        // answered NaN in eval mode with no error anywhere.
        if (momentum is float m && !float.IsFinite(m))
            throw new ArgumentOutOfRangeException(nameof(momentum), m, $"BatchNorm: momentum must be finite (or null for a cumulative average), got {m}");
        NumFeatures = numFeatures;
        Eps = eps;
        Momentum = momentum;
        Affine = affine;
        TrackRunningStats = trackRunningStats;
        if (affine)
        {
            Weight = RegisterParameter("weight", Tensor.Ones(numFeatures));
            Bias = RegisterParameter("bias", Tensor.Zeros(numFeatures));
        }
        if (trackRunningStats)
        {
            RunningMean = RegisterBuffer("running_mean", Tensor.Zeros(numFeatures));
            RunningVar = RegisterBuffer("running_var", Tensor.Ones(numFeatures));
            NumBatchesTracked = RegisterBuffer("num_batches_tracked", Tensor.Scalar(0f));
        }
    }

    /// <summary>Number of channels C.</summary>
    public int NumFeatures { get; }
    /// <summary>Added to the variance for numerical stability.</summary>
    public float Eps { get; }
    /// <summary>Running-average momentum, or null for a cumulative average.</summary>
    public float? Momentum { get; }
    /// <summary>Whether the layer has weight and bias.</summary>
    public bool Affine { get; }
    /// <summary>Whether the layer keeps running statistics.</summary>
    public bool TrackRunningStats { get; }
    /// <summary>Per-channel scale (gamma), shape (C); null when not affine.</summary>
    public Tensor? Weight { get; }
    /// <summary>Per-channel shift (beta), shape (C); null when not affine.</summary>
    public Tensor? Bias { get; }
    /// <summary>Running mean, shape (C); null when not tracking.</summary>
    public Tensor? RunningMean { get; }
    /// <summary>Running (unbiased) variance, shape (C); null when not tracking.</summary>
    public Tensor? RunningVar { get; }
    /// <summary>Number of training forward passes, shape () float32 (int64 in PyTorch); null when not tracking.</summary>
    public Tensor? NumBatchesTracked { get; }

    /// <summary>Checks the input rank for the concrete layer (2-D/3-D for 1d, 4-D for 2d).</summary>
    /// <exception cref="ShapeException">The rank is wrong.</exception>
    protected abstract void CheckInputRank(Tensor input);

    /// <summary>Normalises <paramref name="input"/> (see the type's remarks for training and eval behaviour).</summary>
    /// <exception cref="ShapeException">The input rank is wrong for the layer, its channel count differs from
    /// <see cref="NumFeatures"/>, or training sees one value per channel.</exception>
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        CheckInputRank(input);
        bool update = Training && TrackRunningStats;
        float steps = update ? NumBatchesTracked!.Data[0] + 1 : 0;
        float factor = Momentum ?? (update ? 1f / steps : 0f);
        var y = F.BatchNorm(input, RunningMean, RunningVar, Weight, Bias, training: Training || !TrackRunningStats, factor, Eps);
        if (update) NumBatchesTracked!.Data[0] = steps;
        return y;
    }

    /// <summary>Resets running_mean to 0, running_var to 1 and num_batches_tracked to 0 (PyTorch's <c>reset_running_stats</c>).</summary>
    public void ResetRunningStats()
    {
        RunningMean?.Data.Clear();
        RunningVar?.Data.Fill(1f);
        NumBatchesTracked?.Data.Clear();
    }

    /// <inheritdoc />
    protected override string ExtraRepr() =>
        $"{NumFeatures}, eps={Repr.Number(Eps)}, momentum={(Momentum is float m ? Repr.Number(m) : "None")}, affine={Repr.Bool(Affine)}, track_running_stats={Repr.Bool(TrackRunningStats)}";

    /// <summary>The message for a wrong-rank input.</summary>
    protected string RankMessage(Tensor input, string expected)
    {
        ArgumentNullException.ThrowIfNull(input);
        return $"{GetType().Name}: expected {expected} input, got {input.Rank}-D input {input.Shape} (num_features {NumFeatures})";
    }
}
