namespace CnnSharp.Optimizers.Schedulers;

/// <summary>Multiplies the learning rate by <see cref="Gamma"/> at each milestone epoch (PyTorch's <c>MultiStepLR</c>).</summary>
/// <remarks>A milestone listed k times multiplies by gamma^k. Closed form: <c>lr = base_lr · gamma^(number of milestones ≤ epoch)</c>.</remarks>
public sealed class MultiStepLr : LrScheduler
{
    private readonly int[] _milestones;

    /// <summary>Creates the schedule and takes the initial step.</summary>
    /// <param name="optimizer">The optimizer to schedule.</param>
    /// <param name="milestones">Epochs at which to decay (any order, repeats allowed), each ≥ 0.</param>
    /// <param name="gamma">Multiplicative factor, finite and ≥ 0.</param>
    /// <exception cref="ArgumentOutOfRangeException">A setting is out of range.</exception>
    public MultiStepLr(Optimizer optimizer, IEnumerable<int> milestones, double gamma = 0.1)
        : base(optimizer)
    {
        ArgumentNullException.ThrowIfNull(milestones);
        _milestones = [.. milestones.Order()];
        if (_milestones.Length > 0 && _milestones[0] < 0) throw new ArgumentOutOfRangeException(nameof(milestones), _milestones[0], "MultiStepLr: milestones must be >= 0");
        if (!(gamma >= 0) || double.IsInfinity(gamma)) throw new ArgumentOutOfRangeException(nameof(gamma), gamma, "MultiStepLr: gamma must be finite and >= 0");
        Gamma = gamma;
        InitialStep();
    }

    /// <summary>The milestones, sorted.</summary>
    public IReadOnlyList<int> Milestones => _milestones;
    /// <summary>Multiplicative factor.</summary>
    public double Gamma { get; }

    /// <inheritdoc />
    protected override double ComputeLr()
    {
        int count = _milestones.Count(m => m == LastEpoch);
        return count == 0 ? CurrentLr : CurrentLr * Math.Pow(Gamma, count);
    }

    /// <inheritdoc />
    protected override double? ClosedFormLr() => BaseLr * Math.Pow(Gamma, _milestones.Count(m => m <= LastEpoch));
}
