using System.Globalization;
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
/// <para>Checkpoints: the trainer saves <see cref="Steps"/> (and a plateau scheduler's state) in the checkpoint's metadata.
/// <see cref="Trainer.Resume"/> restores an epoch or batch schedule by replaying that many <c>Step()</c> calls on a freshly
/// built scheduler, which reproduces the learning rates of the uninterrupted run exactly (the schedules are pure functions
/// of their step count); the scheduler must therefore be built anew, with the same settings, for the resumed run.</para>
/// </remarks>
public sealed class LrSchedule
{
    private readonly Action? _step;
    private readonly ReduceLrOnPlateau? _plateau;

    private LrSchedule(Optimizer optimizer, ScheduleInterval interval, string name, Action? step, ReduceLrOnPlateau? plateau)
    {
        Optimizer = optimizer;
        Interval = interval;
        Name = name;
        _step = step;
        _plateau = plateau;
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
        return new(scheduler.Optimizer, Checked(interval), name ?? scheduler.GetType().Name, scheduler.Step, null);
    }

    /// <summary>Chained schedulers (e.g. a <see cref="LinearLr"/> warm-up then a <see cref="CosineAnnealingLr"/>), stepped once per epoch or training step.</summary>
    /// <param name="scheduler">A freshly built chain.</param>
    /// <param name="interval">When it is stepped.</param>
    /// <param name="name">The description saved in checkpoints; null: the chained type names.</param>
    public static LrSchedule Create(SequentialLr scheduler, ScheduleInterval interval = ScheduleInterval.Epoch, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(scheduler);
        name ??= $"SequentialLr({string.Join(",", scheduler.Schedulers.Select(s => s.GetType().Name))})";
        return new(scheduler.Optimizer, Checked(interval), name, scheduler.Step, null);
    }

    /// <summary>A <see cref="ReduceLrOnPlateau"/> stepped after every epoch with the monitored validation metric.</summary>
    /// <param name="scheduler">The scheduler; its mode must match <see cref="TrainingOptions.Monitor"/> (checked by the trainer).</param>
    /// <param name="name">The description saved in checkpoints; null: the type name.</param>
    public static LrSchedule OnPlateau(ReduceLrOnPlateau scheduler, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(scheduler);
        return new(scheduler.Optimizer, ScheduleInterval.Epoch, name ?? nameof(ReduceLrOnPlateau), null, scheduler);
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

    private const string StepsKey = "scheduler_steps", PlateauPrefix = "scheduler.";

    /// <summary>The schedule's position as checkpoint metadata.</summary>
    internal void Save(IDictionary<string, string> metadata)
    {
        metadata[StepsKey] = Steps.ToString(CultureInfo.InvariantCulture);
        if (_plateau is null) return;
        foreach (var (key, value) in _plateau.StateDict()) metadata[PlateauPrefix + key] = value.ToString("R", CultureInfo.InvariantCulture);
    }

    /// <summary>Restores the position saved by <see cref="Save"/>: replays the steps, or loads the plateau state.</summary>
    /// <exception cref="InvalidOperationException">The schedule has already been stepped.</exception>
    /// <exception cref="InvalidDataException">The metadata lacks the schedule's position or holds an invalid one.</exception>
    internal void Restore(string path, IReadOnlyDictionary<string, string> metadata)
    {
        if (Steps != 0) throw new InvalidOperationException("LrSchedule: a resumed run needs a freshly built scheduler (this one has been stepped)");
        if (!metadata.TryGetValue(StepsKey, out var text) || !int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int steps))
            throw new InvalidDataException($"{path}: no valid '{StepsKey}' in __metadata__, so the learning-rate schedule cannot be resumed");
        if (_plateau is null)
        {
            for (int i = 0; i < steps; i++) Step();
            return;
        }
        var state = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var (key, value) in metadata)
        {
            if (!key.StartsWith(PlateauPrefix, StringComparison.Ordinal)) continue;
            if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double v))
                throw new InvalidDataException($"{path}: __metadata__ '{key}' is not a number");
            state[key[PlateauPrefix.Length..]] = v;
        }
        try
        {
            _plateau.LoadStateDict(state);
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
        Steps = steps;
    }
}
