using System.Globalization;
using CnnSharp.Modules;
using CnnSharp.Optimizers;
using CnnSharp.Optimizers.Schedulers;

namespace CnnSharp.Training;

/// <summary>When <see cref="Trainer"/> steps an <see cref="LrSchedule"/>.</summary>
public enum ScheduleInterval
{
    /// <summary>Once after every epoch (StepLR, MultiStepLR, CosineAnnealingLR, warm-ups).</summary>
    Epoch,

    /// <summary>Once after every training step (OneCycleLR, whose total steps are epochs × batches per epoch).</summary>
    Batch,
}

/// <summary>
/// A learning-rate schedule attached to a <see cref="Trainer"/> (<see cref="Trainer.Schedule"/>): a scheduler of
/// <see cref="CnnSharp.Optimizers.Schedulers"/> and when it is stepped.
/// </summary>
/// <remarks>
/// <para>Epoch and batch schedules call the scheduler's <c>Step()</c> after each epoch or each training step. A plateau
/// schedule (<see cref="OnPlateau"/>) calls <see cref="ReduceLrOnPlateau.Step"/> after each epoch with the trainer's
/// monitored metric (<see cref="TrainingOptions.Monitor"/>), so its mode must match the monitor.</para>
/// <para>Checkpoints: the trainer saves <see cref="Steps"/> and the scheduler's <c>StateDict()</c> (its position, float64
/// values exact) in the checkpoint's metadata. <see cref="Trainer.Resume"/> loads that state into a freshly built
/// scheduler with its <c>LoadStateDict</c>, which continues the learning rates of the uninterrupted run bit for bit; the
/// scheduler must therefore be built anew, with the same settings, for the resumed run.</para>
/// </remarks>
public sealed class LrSchedule
{
    private readonly Action? _step;
    private readonly ReduceLrOnPlateau? _plateau;
    private readonly Func<StateDict> _state;
    private readonly Action<StateDict> _load;

    private LrSchedule(Optimizer optimizer, ScheduleInterval interval, string name, Action? step, ReduceLrOnPlateau? plateau,
        Func<StateDict> state, Action<StateDict> load)
    {
        Optimizer = optimizer;
        Interval = interval;
        Name = name;
        _step = step;
        _plateau = plateau;
        _state = state;
        _load = load;
    }

    /// <summary>The scheduled optimizer; it must be the trainer's.</summary>
    public Optimizer Optimizer { get; }

    /// <summary>When the schedule is stepped.</summary>
    public ScheduleInterval Interval { get; }

    /// <summary>
    /// A description of the schedule and its settings (the scheduler's type name unless the creator gave one), saved as the
    /// checkpoint's <c>scheduler</c> metadata; resuming with a schedule of another name is refused unless
    /// <see cref="TrainingOptions.AllowChangedHyperparameters"/>.
    /// </summary>
    public string Name { get; }

    /// <summary>Whether this is a <see cref="ReduceLrOnPlateau"/> schedule, stepped with the monitored metric.</summary>
    public bool IsPlateau => _plateau is not null;

    /// <summary>The number of <c>Step</c> calls made since the scheduler was built (restored by <see cref="Trainer.Resume"/>).</summary>
    public int Steps { get; private set; }

    /// <summary>A scheduler stepped once per epoch or once per training step.</summary>
    /// <param name="scheduler">A freshly built scheduler (see the remarks).</param>
    /// <param name="interval">When it is stepped.</param>
    /// <param name="name">The description saved in checkpoints; null: the type name.</param>
    public static LrSchedule Create(LrScheduler scheduler, ScheduleInterval interval = ScheduleInterval.Epoch, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(scheduler);
        return new(scheduler.Optimizer, Checked(interval), name ?? scheduler.GetType().Name, scheduler.Step, null, scheduler.StateDict, scheduler.LoadStateDict);
    }

    /// <summary>Chained schedulers (e.g. a <see cref="LinearLr"/> warm-up then a <see cref="CosineAnnealingLr"/>), stepped once per epoch or training step.</summary>
    /// <param name="scheduler">A freshly built chain.</param>
    /// <param name="interval">When it is stepped.</param>
    /// <param name="name">The description saved in checkpoints; null: the chained type names.</param>
    public static LrSchedule Create(SequentialLr scheduler, ScheduleInterval interval = ScheduleInterval.Epoch, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(scheduler);
        name ??= $"SequentialLr({string.Join(",", scheduler.Schedulers.Select(s => s.GetType().Name))})";
        return new(scheduler.Optimizer, Checked(interval), name, scheduler.Step, null, scheduler.StateDict, scheduler.LoadStateDict);
    }

    /// <summary>A <see cref="ReduceLrOnPlateau"/> stepped after every epoch with the monitored validation metric.</summary>
    /// <param name="scheduler">The scheduler; its mode must match <see cref="TrainingOptions.Monitor"/> (checked by the trainer).</param>
    /// <param name="name">The description saved in checkpoints; null: the type name.</param>
    public static LrSchedule OnPlateau(ReduceLrOnPlateau scheduler, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(scheduler);
        return new(scheduler.Optimizer, ScheduleInterval.Epoch, name ?? nameof(ReduceLrOnPlateau), null, scheduler, scheduler.StateDict, scheduler.LoadStateDict);
    }

    private static ScheduleInterval Checked(ScheduleInterval interval) =>
        Enum.IsDefined(interval) ? interval : throw new ArgumentOutOfRangeException(nameof(interval), interval, "unknown schedule interval");

    /// <summary>The plateau scheduler's mode, or null for other schedules.</summary>
    internal PlateauMode? PlateauMode => _plateau?.Mode;

    /// <summary>Steps an epoch or batch schedule.</summary>
    internal void Step()
    {
        _step!();
        Steps++;
    }

    /// <summary>Steps a plateau schedule with the epoch's metric.</summary>
    internal void Step(double metric)
    {
        _plateau!.Step(metric);
        Steps++;
    }

    private const string StepsKey = "scheduler_steps", StatePrefix = "scheduler.";

    /// <summary>
    /// The schedule's position as checkpoint metadata: <c>scheduler_steps</c>, and the scheduler's
    /// <see cref="StateDict"/> entry by entry under <c>scheduler.</c> (int64 values as integers, float64 values in
    /// round-trip form, so they read back exactly).
    /// </summary>
    internal void Save(IDictionary<string, string> metadata)
    {
        var inv = CultureInfo.InvariantCulture;
        metadata[StepsKey] = Steps.ToString(inv);
        var state = _state();
        foreach (string key in state.Keys)
        {
            metadata[StatePrefix + key] = state.TryGetInt64(key, out long l) ? l.ToString(inv)
                : state.TryGetFloat64(key, out double d) ? d.ToString("R", inv)
                : state[key].Data[0].ToString("R", inv);
        }
    }

    /// <summary>
    /// Restores the position saved by <see cref="Save"/> into the scheduler's <c>LoadStateDict</c>. A checkpoint of the
    /// earlier format (an epoch or batch schedule saved as <c>scheduler_steps</c> alone) is restored by replaying that
    /// many steps on the freshly built scheduler, which gives the same learning rates.
    /// </summary>
    /// <exception cref="InvalidOperationException">The schedule has already been stepped.</exception>
    /// <exception cref="InvalidDataException">The metadata lacks the schedule's position or holds an invalid one (the message names the key).</exception>
    internal void Restore(string path, IReadOnlyDictionary<string, string> metadata)
    {
        if (Steps != 0) throw new InvalidOperationException("LrSchedule: a resumed run needs a freshly built scheduler (this one has been stepped)");
        if (!metadata.TryGetValue(StepsKey, out var text) || !int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int steps))
            throw new InvalidDataException($"{path}: no valid '{StepsKey}' in __metadata__, so the learning-rate schedule cannot be resumed");
        var state = new StateDict();
        foreach (var (key, value) in metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            if (!key.StartsWith(StatePrefix, StringComparison.Ordinal)) continue;
            string name = key[StatePrefix.Length..];
            if (long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long l)) state.AddInt64(name, l);
            else if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double d)) state.AddFloat64(name, d);
            else throw new InvalidDataException($"{path}: __metadata__ '{key}' is not a number: '{value}'");
        }
        if (state.Count == 0 && _plateau is null)
        {
            for (int i = 0; i < steps; i++) Step();
            return;
        }
        try
        {
            _load(state);
        }
        catch (StateDictException e)
        {
            throw new InvalidDataException($"{path}: __metadata__ 'scheduler.*': {e.Message}", e);
        }
        Steps = steps;
    }
}
