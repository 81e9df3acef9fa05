using System.Globalization;

namespace CnnSharp.Optimizers.Schedulers;

/// <summary>
/// Base class of epoch-based learning-rate schedules (PyTorch 1.13's <c>torch.optim.lr_scheduler._LRScheduler</c>, one
/// parameter group): each <see cref="Step()"/> advances <see cref="LastEpoch"/> and sets the optimizer's learning rate.
/// </summary>
/// <remarks>
/// <para>Usage, as in PyTorch: create the scheduler after the optimizer (its constructor performs the initial step, epoch 0,
/// which may already change the learning rate), call <c>optimizer.Step()</c> during the epoch and <c>scheduler.Step()</c>
/// once at its end (or once per batch for per-iteration schedules such as <see cref="OneCycleLr"/>).</para>
/// <para><see cref="Step()"/> uses PyTorch's recursive (chainable) formulas, which read the optimizer's current learning
/// rate, so a learning rate set by hand between steps is respected. <see cref="Step(int)"/> jumps to an epoch with the
/// closed form (PyTorch's deprecated <c>step(epoch)</c>). Learning rates are doubles, as Python floats are, and are written
/// to <see cref="Optimizer.LrExact"/>.</para>
/// <para>The schedule starts from <see cref="Optimizer.InitialLr"/>, set by the first scheduler attached to the optimizer.
/// One learning rate per optimizer: parameter groups are not supported. <see cref="StateDict"/>/<see cref="LoadStateDict"/>
/// carry the schedule's position for checkpoints (store them, for instance, in <c>Checkpoint.Save</c>'s metadata).</para>
/// </remarks>
public abstract class LrScheduler
{
    /// <summary>Attaches to <paramref name="optimizer"/>; derived constructors finish with <see cref="InitialStep"/>.</summary>
    protected LrScheduler(Optimizer optimizer)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        Optimizer = optimizer;
        optimizer.InitialLr ??= optimizer.LrExact;
        BaseLr = optimizer.InitialLr.Value;
        LastEpoch = -1;
    }

    /// <summary>The optimizer whose learning rate is scheduled.</summary>
    public Optimizer Optimizer { get; }

    /// <summary>The schedule's starting learning rate (PyTorch's <c>base_lrs[0]</c>).</summary>
    public double BaseLr { get; private protected set; }

    /// <summary>The index of the last step taken (0 after construction; PyTorch's <c>last_epoch</c>).</summary>
    public int LastEpoch { get; internal set; }

    /// <summary>The learning rate set by the last step (PyTorch's <c>get_last_lr()[0]</c>).</summary>
    public double LastLr { get; private set; }

    /// <summary>The number of steps taken since the initial one, counting it (PyTorch's <c>_step_count</c>).</summary>
    private protected int StepCount { get; set; }

    /// <summary>The optimizer's current learning rate (PyTorch's <c>group['lr']</c>).</summary>
    protected double CurrentLr => Optimizer.LrExact;

    /// <summary>The learning rate for <see cref="LastEpoch"/>, from the current one (PyTorch's <c>get_lr</c>).</summary>
    protected abstract double ComputeLr();

    /// <summary>The learning rate for <see cref="LastEpoch"/> from <see cref="BaseLr"/> alone (PyTorch's <c>_get_closed_form_lr</c>), or null when there is none.</summary>
    protected virtual double? ClosedFormLr() => null;

    /// <summary>Advances one epoch (or iteration) and sets the optimizer's learning rate.</summary>
    public void Step()
    {
        StepCount++;
        LastEpoch++;
        Apply(ComputeLr());
    }

    /// <summary>Jumps to <paramref name="epoch"/> and sets the learning rate from the closed form (the recursive form when there is none), as PyTorch's <c>step(epoch)</c>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="epoch"/> is negative.</exception>
    public void Step(int epoch)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        StepCount++;
        LastEpoch = epoch;
        Apply(ClosedFormLr() ?? ComputeLr());
    }

    /// <summary>The initial step (epoch 0) that every PyTorch scheduler takes on construction.</summary>
    protected void InitialStep()
    {
        StepCount = 0;
        Step();
    }

    /// <summary>Re-runs the initial step from the current <see cref="LastEpoch"/> (used by <see cref="SequentialLr"/>).</summary>
    internal void Restart() => InitialStep();

    private void Apply(double lr)
    {
        Optimizer.LrExact = lr;
        LastLr = lr;
    }

    /// <summary>The schedule's position: <c>last_epoch</c>, <c>last_lr</c>, <c>base_lr</c>, <c>step_count</c> (and subclass entries).</summary>
    public virtual IReadOnlyDictionary<string, double> StateDict() => new Dictionary<string, double>(StringComparer.Ordinal)
    {
        ["last_epoch"] = LastEpoch,
        ["last_lr"] = LastLr,
        ["base_lr"] = BaseLr,
        ["step_count"] = StepCount,
    };

    /// <summary>Restores a position saved by <see cref="StateDict"/> and sets the optimizer's learning rate to its last value.</summary>
    /// <exception cref="ArgumentException">An entry is missing or not a valid value.</exception>
    public virtual void LoadStateDict(IReadOnlyDictionary<string, double> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        int lastEpoch = WholeEntry(state, "last_epoch", -1), stepCount = WholeEntry(state, "step_count", 0);
        double lastLr = Entry(state, "last_lr"), baseLr = Entry(state, "base_lr");
        if (!(lastLr >= 0) || !(baseLr >= 0) || double.IsInfinity(lastLr) || double.IsInfinity(baseLr))
            throw new ArgumentException($"{GetType().Name}.LoadStateDict: learning rates must be finite and >= 0 (last_lr {lastLr}, base_lr {baseLr})", nameof(state));
        LastEpoch = lastEpoch;
        StepCount = stepCount;
        BaseLr = baseLr;
        Optimizer.InitialLr = baseLr;
        Apply(lastLr);
    }

    /// <summary>A required state entry.</summary>
    private protected double Entry(IReadOnlyDictionary<string, double> state, string key) =>
        state.TryGetValue(key, out double v) ? v : throw new ArgumentException($"{GetType().Name}.LoadStateDict: missing entry '{key}'", nameof(state));

    /// <summary>A required whole-number state entry, at least <paramref name="min"/>.</summary>
    private protected int WholeEntry(IReadOnlyDictionary<string, double> state, string key, int min)
    {
        double v = Entry(state, key);
        if (!(v >= min && v <= int.MaxValue && v == Math.Floor(v)))
            throw new ArgumentException($"{GetType().Name}.LoadStateDict: '{key}' must be a whole number >= {min}, got {v.ToString(CultureInfo.InvariantCulture)}", nameof(state));
        return (int)v;
    }
}
