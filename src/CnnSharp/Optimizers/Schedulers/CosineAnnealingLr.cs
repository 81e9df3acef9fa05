namespace CnnSharp.Optimizers.Schedulers;

/// <summary>Cosine annealing from the base learning rate to <see cref="EtaMin"/> over <see cref="TMax"/> epochs (PyTorch's <c>CosineAnnealingLR</c>, no restarts).</summary>
/// <remarks>
/// Closed form: <c>lr = eta_min + (base_lr − eta_min)·(1 + cos(π·epoch/T_max))/2</c>. <see cref="LrScheduler.Step()"/> uses
/// PyTorch's recursive form, <c>lr = (1 + cos(π·e/T))/(1 + cos(π·(e−1)/T))·(lr − eta_min) + eta_min</c>, with its special
/// case at <c>(e − 1 − T) mod 2T = 0</c>; past T_max the rate rises again along the same cosine, as in PyTorch.
/// </remarks>
public sealed class CosineAnnealingLr : LrScheduler
{
    /// <summary>Creates the schedule and takes the initial step.</summary>
    /// <param name="optimizer">The optimizer to schedule.</param>
    /// <param name="tMax">Half-period in epochs, ≥ 1.</param>
    /// <param name="etaMin">Minimum learning rate, finite and ≥ 0.</param>
    /// <exception cref="ArgumentOutOfRangeException">A setting is out of range.</exception>
    public CosineAnnealingLr(Optimizer optimizer, int tMax, double etaMin = 0)
        : base(optimizer)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(tMax, 1);
        if (!(etaMin >= 0) || double.IsInfinity(etaMin)) throw new ArgumentOutOfRangeException(nameof(etaMin), etaMin, "CosineAnnealingLr: eta_min must be finite and >= 0");
        TMax = tMax;
        EtaMin = etaMin;
        InitialStep();
    }

    /// <summary>Half-period in epochs.</summary>
    public int TMax { get; }
    /// <summary>Minimum learning rate.</summary>
    public double EtaMin { get; }

    /// <inheritdoc />
    protected override double ComputeLr()
    {
        int e = LastEpoch;
        if (e == 0) return CurrentLr;
        if (StepCount == 1 && e > 0) return ClosedFormLr()!.Value; // restarted past epoch 0 (PyTorch's resume branch)
        if ((e - 1 - TMax) % (2 * TMax) == 0) return CurrentLr + (BaseLr - EtaMin) * (1 - Math.Cos(Math.PI / TMax)) / 2;
        return (1 + Math.Cos(Math.PI * e / TMax)) / (1 + Math.Cos(Math.PI * (e - 1) / TMax)) * (CurrentLr - EtaMin) + EtaMin;
    }

    /// <inheritdoc />
    protected override double? ClosedFormLr() => EtaMin + (BaseLr - EtaMin) * (1 + Math.Cos(Math.PI * LastEpoch / TMax)) / 2;
}
