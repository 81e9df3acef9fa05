using CnnSharp.Modules;

namespace CnnSharp.Optimizers.Schedulers;

/// <summary>Runs schedulers one after another, switching at milestone epochs (PyTorch's <c>SequentialLR</c>); e.g. a <see cref="LinearLr"/> warm-up then a <see cref="CosineAnnealingLr"/>.</summary>
/// <remarks>
/// <para>Create the inner schedulers on the same optimizer first, then this. As in PyTorch, construction resets the learning
/// rate to <see cref="Optimizer.InitialLr"/>, moves every inner scheduler back one epoch and re-runs the first one's initial
/// step. At milestone <c>m_i</c> scheduler <c>i + 1</c> takes over with a closed-form jump to its epoch 0; other steps call
/// the active scheduler's recursive <see cref="LrScheduler.Step()"/>.</para>
/// <example><code>
/// var warmup = new LinearLr(opt, startFactor: 0.1, totalIters: 3);
/// var cosine = new CosineAnnealingLr(opt, tMax: 27);
/// var schedule = new SequentialLr(opt, [warmup, cosine], milestones: [3]);
/// </code></example>
/// </remarks>
public sealed class SequentialLr
{
    private readonly LrScheduler[] _schedulers;
    private readonly int[] _milestones;

    /// <summary>Chains <paramref name="schedulers"/>, switching at <paramref name="milestones"/>.</summary>
    /// <param name="optimizer">The optimizer every scheduler belongs to.</param>
    /// <param name="schedulers">At least one scheduler.</param>
    /// <param name="milestones">One fewer than the schedulers, increasing, each ≥ 1.</param>
    /// <exception cref="ArgumentException">A scheduler belongs to another optimizer, the counts do not match, or the milestones are not increasing.</exception>
    public SequentialLr(Optimizer optimizer, IReadOnlyList<LrScheduler> schedulers, IReadOnlyList<int> milestones)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(schedulers);
        ArgumentNullException.ThrowIfNull(milestones);
        if (schedulers.Count == 0) throw new ArgumentException("SequentialLr: expected at least one scheduler", nameof(schedulers));
        for (int i = 0; i < schedulers.Count; i++)
            if (!ReferenceEquals(schedulers[i]?.Optimizer, optimizer))
                throw new ArgumentException($"SequentialLr: scheduler {i} belongs to another optimizer", nameof(schedulers));
        if (milestones.Count != schedulers.Count - 1)
            throw new ArgumentException($"SequentialLr: expected {schedulers.Count - 1} milestones for {schedulers.Count} schedulers, got {milestones.Count}", nameof(milestones));
        for (int i = 0; i < milestones.Count; i++)
            if (milestones[i] < 1 || (i > 0 && milestones[i] <= milestones[i - 1]))
                throw new ArgumentException($"SequentialLr: milestones must be increasing and >= 1, got [{string.Join(", ", milestones)}]", nameof(milestones));
        Optimizer = optimizer;
        _schedulers = [.. schedulers];
        _milestones = [.. milestones];
        LastEpoch = 0;
        optimizer.LrExact = optimizer.InitialLr ?? optimizer.LrExact;
        foreach (var s in _schedulers) s.LastEpoch--;
        _schedulers[0].Restart();
        LastLr = _schedulers[0].LastLr;
    }

    /// <summary>The optimizer being scheduled.</summary>
    public Optimizer Optimizer { get; }
    /// <summary>The number of steps taken (0 after construction).</summary>
    public int LastEpoch { get; private set; }
    /// <summary>The learning rate set by the last step.</summary>
    public double LastLr { get; private set; }
    /// <summary>The chained schedulers.</summary>
    public IReadOnlyList<LrScheduler> Schedulers => _schedulers;

    /// <summary>Advances one epoch through the active scheduler.</summary>
    public void Step()
    {
        LastEpoch++;
        int idx = _milestones.Count(m => m <= LastEpoch);
        var scheduler = _schedulers[idx];
        if (idx > 0 && _milestones[idx - 1] == LastEpoch) scheduler.Step(0);
        else scheduler.Step();
        LastLr = scheduler.LastLr;
    }

    /// <summary>
    /// The chain's position (PyTorch's <c>state_dict()</c>, whose <c>_schedulers</c> list becomes prefixes): int64
    /// <c>last_epoch</c>, float64 <c>last_lr</c>, and every inner scheduler's state under <c>schedulers.{i}.</c>.
    /// </summary>
    public StateDict StateDict()
    {
        var state = new StateDict();
        state.AddInt64("last_epoch", LastEpoch);
        state.AddFloat64("last_lr", LastLr);
        for (int i = 0; i < _schedulers.Length; i++) SchedulerState.AddNested(state, Prefix(i), _schedulers[i].StateDict());
        return state;
    }

    /// <summary>Restores a position saved by <see cref="StateDict"/> into a chain built with the same schedulers and milestones.</summary>
    /// <exception cref="StateDictException">A key is missing or unexpected, or a value is invalid (all listed); nothing is changed.</exception>
    public void LoadStateDict(StateDict state)
    {
        var keys = new List<string> { "last_epoch", "last_lr" };
        for (int i = 0; i < _schedulers.Length; i++) keys.AddRange(LrScheduler.StateKeys.Select(k => Prefix(i) + k));
        var reader = new SchedulerState(nameof(SequentialLr), state, keys);
        int lastEpoch = reader.Whole("last_epoch", 0);
        double lastLr = reader.Number("last_lr", rate: true);
        reader.ThrowIfInvalid();
        // The inner loads check their own values; on a failure the ones already loaded are put back.
        var previous = _schedulers.Select(s => s.StateDict()).ToArray();
        double lr = Optimizer.LrExact;
        double? initial = Optimizer.InitialLr;
        try
        {
            for (int i = 0; i < _schedulers.Length; i++) _schedulers[i].LoadStateDict(SchedulerState.Nested(state, Prefix(i)));
        }
        catch (StateDictException e)
        {
            for (int i = 0; i < _schedulers.Length; i++) _schedulers[i].LoadStateDict(previous[i]);
            Optimizer.InitialLr = initial;
            Optimizer.LrExact = lr;
            throw new StateDictException($"{nameof(SequentialLr)}.LoadStateDict: {e.Message}", e);
        }
        LastEpoch = lastEpoch;
        LastLr = lastLr;
        Optimizer.LrExact = lastLr;
    }

    private static string Prefix(int index) => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"schedulers.{index}.");
}
