namespace CnnSharp.Optimizers.Schedulers;

/// <summary>The 1cycle policy (PyTorch's <c>OneCycleLR</c> with <c>three_phase=False</c>), stepped once per batch.</summary>
/// <remarks>
/// <para>The learning rate starts at <c>initial = max_lr / div_factor</c>, rises to <c>max_lr</c> by step
/// <c>pct_start·total_steps − 1</c>, then falls to <c>min = initial / final_div_factor</c> at step <c>total_steps − 1</c>,
/// each phase annealed with <see cref="Strategy"/>. The constructor sets <see cref="Optimizer.InitialLr"/> to the initial
/// rate, as PyTorch sets <c>initial_lr</c>. Stepping more than <c>total_steps − 1</c> times after construction throws.</para>
/// <para>Momentum cycling (PyTorch's default <c>cycle_momentum=True</c>) is not implemented: the optimizers' momentum is
/// fixed at construction, so this matches PyTorch with <c>cycle_momentum=False</c>.</para>
/// </remarks>
public sealed class OneCycleLr : LrScheduler
{
    private readonly double _initialLr, _minLr, _phaseEnd;

    /// <summary>Creates the schedule and takes the initial step.</summary>
    /// <param name="optimizer">The optimizer to schedule.</param>
    /// <param name="maxLr">Peak learning rate, finite and &gt; 0.</param>
    /// <param name="totalSteps">Steps in the cycle (epochs × batches per epoch), ≥ 2.</param>
    /// <param name="pctStart">Fraction of the cycle spent rising, in (0, 1); both phases must be non-empty.</param>
    /// <param name="strategy">Annealing shape.</param>
    /// <param name="divFactor">initial = max_lr / div_factor; finite and &gt; 0.</param>
    /// <param name="finalDivFactor">min = initial / final_div_factor; finite and &gt; 0.</param>
    /// <exception cref="ArgumentOutOfRangeException">A setting is out of range.</exception>
    public OneCycleLr(Optimizer optimizer, double maxLr, int totalSteps, double pctStart = 0.3, AnnealStrategy strategy = AnnealStrategy.Cos,
        double divFactor = 25.0, double finalDivFactor = 1e4)
        : base(optimizer)
    {
        if (!(maxLr > 0) || double.IsInfinity(maxLr)) throw new ArgumentOutOfRangeException(nameof(maxLr), maxLr, "OneCycleLr: max_lr must be finite and > 0");
        ArgumentOutOfRangeException.ThrowIfLessThan(totalSteps, 2);
        if (!(divFactor > 0) || double.IsInfinity(divFactor)) throw new ArgumentOutOfRangeException(nameof(divFactor), divFactor, "OneCycleLr: div_factor must be finite and > 0");
        if (!(finalDivFactor > 0) || double.IsInfinity(finalDivFactor)) throw new ArgumentOutOfRangeException(nameof(finalDivFactor), finalDivFactor, "OneCycleLr: final_div_factor must be finite and > 0");
        double phaseEnd = pctStart * totalSteps - 1;
        // PyTorch divides by each phase's length; an empty phase would be a division by zero there.
        if (!(pctStart > 0 && pctStart < 1) || phaseEnd == 0 || phaseEnd == totalSteps - 1)
            throw new ArgumentOutOfRangeException(nameof(pctStart), pctStart, $"OneCycleLr: pct_start must be in (0, 1) and leave both phases non-empty (total_steps {totalSteps})");
        if (!Enum.IsDefined(strategy)) throw new ArgumentOutOfRangeException(nameof(strategy), strategy, "OneCycleLr: unknown anneal strategy");
        MaxLr = maxLr;
        TotalSteps = totalSteps;
        Strategy = strategy;
        _initialLr = maxLr / divFactor;
        _minLr = _initialLr / finalDivFactor;
        _phaseEnd = phaseEnd;
        optimizer.InitialLr = _initialLr;
        BaseLr = _initialLr;
        InitialStep();
    }

    /// <summary>Peak learning rate.</summary>
    public double MaxLr { get; }
    /// <summary>Steps in the cycle.</summary>
    public int TotalSteps { get; }
    /// <summary>Annealing shape.</summary>
    public AnnealStrategy Strategy { get; }

    /// <inheritdoc />
    /// <exception cref="InvalidOperationException">Stepped past the end of the cycle.</exception>
    protected override double ComputeLr()
    {
        int step = LastEpoch;
        if (step > TotalSteps)
            throw new InvalidOperationException($"OneCycleLr: tried to step {step + 1} times; the cycle has {TotalSteps} steps");
        return step <= _phaseEnd
            ? Anneal(_initialLr, MaxLr, step / _phaseEnd)
            : Anneal(MaxLr, _minLr, (step - _phaseEnd) / (TotalSteps - 1 - _phaseEnd));
    }

    private double Anneal(double start, double end, double pct) => Strategy == AnnealStrategy.Cos
        ? end + (start - end) / 2.0 * (Math.Cos(Math.PI * pct) + 1)
        : (end - start) * pct + start;
}
