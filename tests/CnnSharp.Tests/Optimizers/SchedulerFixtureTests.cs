using System.Text.Json;
using CnnSharp.Optimizers;
using CnnSharp.Optimizers.Schedulers;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Optimizers;

/// <summary>Learning-rate sequences of torch.optim.lr_scheduler (PyTorch 1.13) replayed on an <see cref="Sgd"/>.</summary>
public sealed class SchedulerFixtureTests
{
    public static TheoryData<string> Cases =>
    [
        "step_lr", "step_lr_closed_form", "multi_step_lr", "multi_step_lr_closed_form", "cosine_annealing_lr",
        "cosine_annealing_lr_closed_form", "linear_lr", "linear_lr_decay", "linear_lr_closed_form", "one_cycle_lr",
        "one_cycle_lr_pct", "sequential_linear_cosine", "sequential_linear_step", "plateau_min", "plateau_max",
    ];

    private static Sgd NewSgd(double lr) => new([Tensor.Zeros(1).RequiresGrad_()], (float)lr);

    /// <summary>The scheduler of each case (the fixture's <c>call</c> in C#) and its step functions.</summary>
    private static (Action Step, Action<int> StepEpoch, Action<double> StepMetric) Create(string name, Sgd opt)
    {
        LrScheduler? s = name switch
        {
            _ when name.StartsWith("step_lr", StringComparison.Ordinal) => new StepLr(opt, stepSize: 3, gamma: 0.5),
            _ when name.StartsWith("multi_step_lr", StringComparison.Ordinal) => new MultiStepLr(opt, [2, 5, 5, 8], gamma: 0.1),
            _ when name.StartsWith("cosine_annealing_lr", StringComparison.Ordinal) => new CosineAnnealingLr(opt, tMax: 6, etaMin: 0.001),
            "linear_lr" => new LinearLr(opt, startFactor: 0.25, endFactor: 1.0, totalIters: 4),
            "linear_lr_decay" => new LinearLr(opt, startFactor: 1.0, endFactor: 0.1, totalIters: 5),
            "linear_lr_closed_form" => new LinearLr(opt, startFactor: 0.25, totalIters: 4),
            "one_cycle_lr" => new OneCycleLr(opt, maxLr: 0.5, totalSteps: 12),
            "one_cycle_lr_pct" => new OneCycleLr(opt, maxLr: 1.0, totalSteps: 10, pctStart: 0.25, divFactor: 10.0, finalDivFactor: 100.0),
            _ => null,
        };
        if (s is not null) return (s.Step, s.Step, _ => throw new InvalidOperationException());
        if (name == "sequential_linear_cosine")
        {
            var seq = new SequentialLr(opt, [new LinearLr(opt, startFactor: 0.1, totalIters: 3), new CosineAnnealingLr(opt, tMax: 7)], [3]);
            return (seq.Step, _ => throw new InvalidOperationException(), _ => throw new InvalidOperationException());
        }
        if (name == "sequential_linear_step")
        {
            var seq = new SequentialLr(opt, [new LinearLr(opt, startFactor: 0.5, totalIters: 2), new StepLr(opt, stepSize: 2, gamma: 0.5)], [4]);
            return (seq.Step, _ => throw new InvalidOperationException(), _ => throw new InvalidOperationException());
        }
        var plateau = name == "plateau_min"
            ? new ReduceLrOnPlateau(opt, PlateauMode.Min, factor: 0.5, patience: 2, threshold: 0.01, cooldown: 1, minLr: 0.01)
            : new ReduceLrOnPlateau(opt, PlateauMode.Max, factor: 0.1, patience: 1);
        return (() => throw new InvalidOperationException(), _ => throw new InvalidOperationException(), plateau.Step);
    }

    [Theory, MemberData(nameof(Cases))]
    public void Learning_rates_match_torch_optim_lr_scheduler(string name)
    {
        var fx = JsonFixture.Load($"training/sched_{name}.json");
        var expected = fx.GetProperty("lrs").EnumerateArray().Select(v => v.GetDouble()).ToArray();
        var opt = NewSgd(fx.GetProperty("initial_lr").GetDouble());
        var (step, stepEpoch, stepMetric) = Create(name, opt);
        var actual = new List<double> { opt.LrExact };
        if (fx.GetProperty("metrics").ValueKind == JsonValueKind.Array)
            foreach (var m in fx.GetProperty("metrics").EnumerateArray()) { stepMetric(m.GetDouble()); actual.Add(opt.LrExact); }
        else if (fx.GetProperty("epochs").ValueKind == JsonValueKind.Array)
            foreach (var e in fx.GetProperty("epochs").EnumerateArray()) { stepEpoch(e.GetInt32()); actual.Add(opt.LrExact); }
        else
            for (int i = 0; i < fx.GetProperty("steps").GetInt32(); i++) { step(); actual.Add(opt.LrExact); }
        Assert.Equal(expected.Length, actual.Count);
        // Same double formulas as PyTorch's; libm's cos/pow may differ in the last bit.
        TensorAssert.Close(expected, actual.Select(v => (float)v).ToArray(), new Tolerance(1e-6, 1e-12), name);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-12 * Math.Max(1, Math.Abs(expected[i])), $"{name}: lr {i} is {actual[i]:R}, PyTorch {expected[i]:R}");
        Assert.Equal((float)actual[^1], opt.Lr);
    }
}
