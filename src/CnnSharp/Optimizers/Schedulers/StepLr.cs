namespace CnnSharp.Optimizers.Schedulers;

/// <summary>Multiplies the learning rate by <see cref="Gamma"/> every <see cref="StepSize"/> epochs (PyTorch's <c>StepLR</c>).</summary>
/// <remarks>Closed form: <c>lr = base_lr · gamma^floor(epoch / step_size)</c>; <see cref="LrScheduler.Step()"/> multiplies the
/// current learning rate by gamma when the epoch is a positive multiple of step_size.</remarks>
public sealed class StepLr : LrScheduler
{
    /// <summary>Creates the schedule and takes the initial step.</summary>
    /// <param name="optimizer">The optimizer to schedule.</param>
    /// <param name="stepSize">Epochs between decays, ≥ 1.</param>
    /// <param name="gamma">Multiplicative factor, finite and ≥ 0.</param>
    /// <exception cref="ArgumentOutOfRangeException">A setting is out of range.</exception>
    public StepLr(Optimizer optimizer, int stepSize, double gamma = 0.1)
        : base(optimizer)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(stepSize, 1);
        if (!(gamma >= 0) || double.IsInfinity(gamma)) throw new ArgumentOutOfRangeException(nameof(gamma), gamma, "StepLr: gamma must be finite and >= 0");
        StepSize = stepSize;
        Gamma = gamma;
        InitialStep();
    }

    /// <summary>Epochs between decays.</summary>
    public int StepSize { get; }
    /// <summary>Multiplicative factor.</summary>
    public double Gamma { get; }

    /// <inheritdoc />
    protected override double ComputeLr() =>
        LastEpoch == 0 || LastEpoch % StepSize != 0 ? CurrentLr : CurrentLr * Gamma;

    /// <inheritdoc />
    protected override double? ClosedFormLr() => BaseLr * Math.Pow(Gamma, LastEpoch / StepSize);
}
