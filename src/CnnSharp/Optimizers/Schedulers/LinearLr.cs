namespace CnnSharp.Optimizers.Schedulers;

/// <summary>Scales the learning rate linearly from <see cref="StartFactor"/> to <see cref="EndFactor"/> of the base over <see cref="TotalIters"/> epochs (PyTorch's <c>LinearLR</c>), the usual warm-up.</summary>
/// <remarks>
/// Closed form: <c>lr = base_lr · (start + (end − start)·min(epoch, total_iters)/total_iters)</c>; constant afterwards.
/// For a warm-up followed by another schedule, chain them with <see cref="SequentialLr"/>.
/// </remarks>
public sealed class LinearLr : LrScheduler
{
    /// <summary>Creates the schedule and takes the initial step (which multiplies the learning rate by the start factor).</summary>
    /// <param name="optimizer">The optimizer to schedule.</param>
    /// <param name="startFactor">Factor at epoch 0, in (0, 1] (PyTorch allows 0, which divides by zero at epoch 1).</param>
    /// <param name="endFactor">Factor from epoch <paramref name="totalIters"/> on, in [0, 1].</param>
    /// <param name="totalIters">Epochs of the ramp, ≥ 1.</param>
    /// <exception cref="ArgumentOutOfRangeException">A setting is out of range.</exception>
    public LinearLr(Optimizer optimizer, double startFactor = 1.0 / 3, double endFactor = 1.0, int totalIters = 5)
        : base(optimizer)
    {
        if (!(startFactor > 0 && startFactor <= 1)) throw new ArgumentOutOfRangeException(nameof(startFactor), startFactor, "LinearLr: start factor must be in (0, 1]");
        if (!(endFactor >= 0 && endFactor <= 1)) throw new ArgumentOutOfRangeException(nameof(endFactor), endFactor, "LinearLr: end factor must be in [0, 1]");
        ArgumentOutOfRangeException.ThrowIfLessThan(totalIters, 1);
        StartFactor = startFactor;
        EndFactor = endFactor;
        TotalIters = totalIters;
        InitialStep();
    }

    /// <summary>Factor at epoch 0.</summary>
    public double StartFactor { get; }
    /// <summary>Factor from <see cref="TotalIters"/> on.</summary>
    public double EndFactor { get; }
    /// <summary>Epochs of the ramp.</summary>
    public int TotalIters { get; }

    /// <inheritdoc />
    protected override double ComputeLr()
    {
        if (LastEpoch == 0) return CurrentLr * StartFactor;
        if (LastEpoch > TotalIters) return CurrentLr;
        return CurrentLr * (1.0 + (EndFactor - StartFactor) / (TotalIters * StartFactor + (LastEpoch - 1) * (EndFactor - StartFactor)));
    }

    /// <inheritdoc />
    protected override double? ClosedFormLr() =>
        BaseLr * (StartFactor + (EndFactor - StartFactor) * Math.Min(TotalIters, LastEpoch) / TotalIters);
}
