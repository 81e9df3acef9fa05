using CnnSharp.Modules;

namespace CnnSharp.Optimizers.Schedulers;

/// <summary>Reduces the learning rate when a metric stops improving (PyTorch's <c>ReduceLROnPlateau</c>).</summary>
/// <remarks>
/// <para>Call <see cref="Step"/> with the epoch's metric. A metric better than the best so far (see <see cref="ThresholdMode"/>;
/// NaN never is) resets the bad-epoch count, anything else increments it. During cooldown bad epochs are not counted.
/// When the count exceeds <see cref="Patience"/>, the learning rate becomes <c>max(lr·factor, min_lr)</c> (only if that
/// lowers it by more than <see cref="Eps"/>), the cooldown starts and the count resets.</para>
/// </remarks>
public sealed class ReduceLrOnPlateau
{
    /// <summary>Creates the scheduler; the learning rate is not changed until a plateau.</summary>
    /// <param name="optimizer">The optimizer to schedule.</param>
    /// <param name="mode">Whether lower or higher metrics are better.</param>
    /// <param name="factor">Multiplier applied on a plateau, in [0, 1).</param>
    /// <param name="patience">Bad epochs tolerated before reducing, ≥ 0.</param>
    /// <param name="threshold">Minimum significant improvement, finite and ≥ 0.</param>
    /// <param name="thresholdMode">Relative or absolute threshold.</param>
    /// <param name="cooldown">Epochs after a reduction during which bad epochs are ignored, ≥ 0.</param>
    /// <param name="minLr">Lower bound of the learning rate, finite and ≥ 0.</param>
    /// <param name="eps">Reductions smaller than this are skipped, finite and ≥ 0.</param>
    /// <exception cref="ArgumentOutOfRangeException">A setting is out of range.</exception>
    public ReduceLrOnPlateau(Optimizer optimizer, PlateauMode mode = PlateauMode.Min, double factor = 0.1, int patience = 10, double threshold = 1e-4,
        ThresholdMode thresholdMode = ThresholdMode.Rel, int cooldown = 0, double minLr = 0, double eps = 1e-8)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        if (!Enum.IsDefined(mode)) throw new ArgumentOutOfRangeException(nameof(mode), mode, "ReduceLrOnPlateau: unknown mode");
        if (!Enum.IsDefined(thresholdMode)) throw new ArgumentOutOfRangeException(nameof(thresholdMode), thresholdMode, "ReduceLrOnPlateau: unknown threshold mode");
        if (!(factor >= 0 && factor < 1)) throw new ArgumentOutOfRangeException(nameof(factor), factor, "ReduceLrOnPlateau: factor must be in [0, 1)");
        ArgumentOutOfRangeException.ThrowIfNegative(patience);
        ArgumentOutOfRangeException.ThrowIfNegative(cooldown);
        foreach (var (v, name) in new[] { (threshold, nameof(threshold)), (minLr, nameof(minLr)), (eps, nameof(eps)) })
            if (!(v >= 0) || double.IsInfinity(v)) throw new ArgumentOutOfRangeException(name, v, $"ReduceLrOnPlateau: {name} must be finite and >= 0");
        Optimizer = optimizer;
        Mode = mode;
        Factor = factor;
        Patience = patience;
        Threshold = threshold;
        ThresholdMode = thresholdMode;
        Cooldown = cooldown;
        MinLr = minLr;
        Eps = eps;
        Best = mode == PlateauMode.Min ? double.PositiveInfinity : double.NegativeInfinity;
    }

    /// <summary>The optimizer being scheduled.</summary>
    public Optimizer Optimizer { get; }
    /// <summary>Whether lower or higher metrics are better.</summary>
    public PlateauMode Mode { get; }
    /// <summary>Multiplier applied on a plateau.</summary>
    public double Factor { get; }
    /// <summary>Bad epochs tolerated before reducing.</summary>
    public int Patience { get; }
    /// <summary>Minimum significant improvement.</summary>
    public double Threshold { get; }
    /// <summary>Relative or absolute threshold.</summary>
    public ThresholdMode ThresholdMode { get; }
    /// <summary>Epochs ignored after a reduction.</summary>
    public int Cooldown { get; }
    /// <summary>Lower bound of the learning rate.</summary>
    public double MinLr { get; }
    /// <summary>Smallest reduction applied.</summary>
    public double Eps { get; }
    /// <summary>The best metric so far (±∞ before the first step).</summary>
    public double Best { get; private set; }
    /// <summary>Consecutive epochs without improvement.</summary>
    public int NumBadEpochs { get; private set; }
    /// <summary>Cooldown epochs left.</summary>
    public int CooldownCounter { get; private set; }
    /// <summary>The number of steps taken.</summary>
    public int LastEpoch { get; private set; }
    /// <summary>The learning rate after the last step.</summary>
    public double LastLr => Optimizer.LrExact;

    /// <summary>Records one epoch's <paramref name="metric"/> and reduces the learning rate on a plateau.</summary>
    public void Step(double metric)
    {
        LastEpoch++;
        if (IsBetter(metric))
        {
            Best = metric;
            NumBadEpochs = 0;
        }
        else
        {
            NumBadEpochs++;
        }
        if (CooldownCounter > 0)
        {
            CooldownCounter--;
            NumBadEpochs = 0;
        }
        if (NumBadEpochs > Patience)
        {
            double oldLr = Optimizer.LrExact, newLr = Math.Max(oldLr * Factor, MinLr);
            if (oldLr - newLr > Eps) Optimizer.LrExact = newLr;
            CooldownCounter = Cooldown;
            NumBadEpochs = 0;
        }
    }

    private bool IsBetter(double a) => (Mode, ThresholdMode) switch
    {
        (PlateauMode.Min, ThresholdMode.Rel) => a < Best * (1 - Threshold),
        (PlateauMode.Min, ThresholdMode.Abs) => a < Best - Threshold,
        (PlateauMode.Max, ThresholdMode.Rel) => a > Best * (Threshold + 1),
        _ => a > Best + Threshold,
    };

    /// <summary>
    /// The scheduler's position (PyTorch's <c>state_dict()</c>): float64 scalars <c>best</c> and <c>lr</c>, int64 scalars
    /// <c>num_bad_epochs</c>, <c>cooldown_counter</c> and <c>last_epoch</c>. The settings are not included.
    /// </summary>
    public StateDict StateDict()
    {
        var state = new StateDict();
        state.AddFloat64("best", Best);
        state.AddInt64("num_bad_epochs", NumBadEpochs);
        state.AddInt64("cooldown_counter", CooldownCounter);
        state.AddInt64("last_epoch", LastEpoch);
        state.AddFloat64("lr", Optimizer.LrExact);
        return state;
    }

    /// <summary>Restores a position saved by <see cref="StateDict"/>, including the optimizer's learning rate.</summary>
    /// <exception cref="StateDictException">A key is missing or unexpected, or a value is invalid (all listed); nothing is changed.</exception>
    public void LoadStateDict(StateDict state)
    {
        var reader = new SchedulerState(nameof(ReduceLrOnPlateau), state, ["best", "num_bad_epochs", "cooldown_counter", "last_epoch", "lr"]);
        double best = reader.Number("best"), lr = reader.Number("lr", rate: true);
        int bad = reader.Whole("num_bad_epochs", 0), cool = reader.Whole("cooldown_counter", 0), epoch = reader.Whole("last_epoch", 0);
        reader.ThrowIfInvalid();
        Optimizer.LrExact = lr;
        Best = best;
        NumBadEpochs = bad;
        CooldownCounter = cool;
        LastEpoch = epoch;
    }
}
