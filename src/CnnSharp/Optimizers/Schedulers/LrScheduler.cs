using CnnSharp.Modules;

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

    /// <summary>The state keys, in <see cref="StateDict"/>'s order.</summary>
    internal static readonly string[] StateKeys = ["last_epoch", "last_lr", "base_lr", "step_count"];

    /// <summary>
    /// The schedule's position (PyTorch's <c>state_dict()</c>, one parameter group): int64 scalars <c>last_epoch</c> and
    /// <c>step_count</c> (PyTorch's <c>_step_count</c>), float64 scalars <c>last_lr</c> and <c>base_lr</c> (exact, so a
    /// resumed schedule continues bit for bit). The settings (step size, gamma...) are not included: a scheduler is
    /// rebuilt with them and then loaded.
    /// </summary>
    public virtual StateDict StateDict()
    {
        var state = new StateDict();
        state.AddInt64("last_epoch", LastEpoch);
        state.AddFloat64("last_lr", LastLr);
        state.AddFloat64("base_lr", BaseLr);
        state.AddInt64("step_count", StepCount);
        return state;
    }

    /// <summary>
    /// Restores a position saved by <see cref="StateDict"/> and sets the optimizer's learning rate to its last value
    /// (PyTorch's <c>load_state_dict</c>). Numbers may also be given as int64 scalars or one-element float32 tensors.
    /// </summary>
    /// <exception cref="StateDictException">A key is missing or unexpected, or a value is invalid (all listed); nothing is changed.</exception>
    public virtual void LoadStateDict(StateDict state)
    {
        var reader = new SchedulerState(GetType().Name, state, StateKeys);
        int lastEpoch = reader.Whole("last_epoch", -1), stepCount = reader.Whole("step_count", 0);
        double lastLr = reader.Number("last_lr", rate: true), baseLr = reader.Number("base_lr", rate: true);
        reader.ThrowIfInvalid();
        LastEpoch = lastEpoch;
        StepCount = stepCount;
        BaseLr = baseLr;
        Optimizer.InitialLr = baseLr;
        Apply(lastLr);
    }
}
