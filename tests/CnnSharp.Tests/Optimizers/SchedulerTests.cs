using CnnSharp.Modules;
using CnnSharp.Optimizers;
using CnnSharp.Optimizers.Schedulers;

namespace CnnSharp.Tests.Optimizers;

public sealed class SchedulerTests
{
    private static Sgd NewSgd(float lr = 0.1f) => new([Tensor.Zeros(1).RequiresGrad_()], lr);

    [Fact]
    public void State_dict_round_trip_resumes_the_schedule_and_the_learning_rate()
    {
        var opt = NewSgd();
        var cosine = new CosineAnnealingLr(opt, tMax: 10, etaMin: 0.001);
        for (int i = 0; i < 4; i++) cosine.Step();
        var state = cosine.StateDict();
        double lr4 = opt.LrExact;
        cosine.Step();
        double lr5 = opt.LrExact;

        var opt2 = NewSgd(0.5f); // a fresh run with another learning rate, resumed from the state
        var resumed = new CosineAnnealingLr(opt2, tMax: 10, etaMin: 0.001);
        resumed.LoadStateDict(state);
        Assert.Equal(lr4, opt2.LrExact);
        Assert.Equal(0.1, resumed.BaseLr, 12);
        resumed.Step();
        Assert.Equal(lr5, opt2.LrExact, 15);
        Assert.Equal(5, resumed.LastEpoch);
    }

    [Fact]
    public void Plateau_state_round_trip_and_invalid_state_are_handled()
    {
        var opt = NewSgd();
        var plateau = new ReduceLrOnPlateau(opt, patience: 0);
        plateau.Step(1.0);
        plateau.Step(2.0); // worse: reduce to 0.01
        Assert.Equal(0.01, opt.LrExact, 15);
        var opt2 = NewSgd();
        var resumed = new ReduceLrOnPlateau(opt2, patience: 0);
        resumed.LoadStateDict(plateau.StateDict());
        Assert.Equal(1.0, resumed.Best);
        Assert.Equal(0.01, opt2.LrExact, 15);
        var bad = plateau.StateDict();
        bad["num_bad_epochs"] = Tensor.Scalar(-1f);
        var e = Assert.Throws<StateDictException>(() => resumed.LoadStateDict(bad));
        Assert.Contains("'num_bad_epochs' must be a whole number >= 0, got -1", e.Message, StringComparison.Ordinal);
        Assert.Equal(1.0, resumed.Best); // nothing changed
    }

    [Fact]
    public void Scheduler_state_is_a_StateDict_with_exact_doubles_and_load_names_missing_and_unexpected_keys()
    {
        var opt = NewSgd();
        var step = new StepLr(opt, stepSize: 2, gamma: 0.1);
        for (int i = 0; i < 3; i++) step.Step();
        var state = step.StateDict();
        Assert.Equal(["last_epoch", "last_lr", "base_lr", "step_count"], state.Keys);
        Assert.Equal(3, state.GetInt64("last_epoch"));
        Assert.True(state.TryGetFloat64("last_lr", out double lastLr));
        Assert.Equal(opt.LrExact, lastLr); // the double itself, not a float32 rounding of it
        Assert.NotEqual((double)(float)lastLr, lastLr);

        var broken = new StateDict();
        broken.AddInt64("last_epoch", 3);
        broken.AddFloat64("last_lr", -1);
        broken.AddInt64("stepcount", 1);
        var fresh = new StepLr(NewSgd(0.5f), stepSize: 2);
        var e = Assert.Throws<StateDictException>(() => fresh.LoadStateDict(broken));
        Assert.Equal("StepLr.LoadStateDict: missing key(s) 'base_lr', 'step_count'; unexpected key(s) 'stepcount'; " +
            "'last_lr' must be a finite learning rate >= 0, got -1", e.Message);
        Assert.Equal(0, fresh.LastEpoch);
        Assert.Equal(0.5, fresh.Optimizer.LrExact, 6);
    }

    [Fact]
    public void Sequential_state_round_trips_through_safetensors_and_continues_bit_for_bit()
    {
        static (SequentialLr, Sgd) Chain()
        {
            var o = NewSgd(0.3f);
            var warm = new LinearLr(o, 0.1, 1.0, 3);
            var cosine = new CosineAnnealingLr(o, tMax: 7, etaMin: 0.001);
            return (new SequentialLr(o, [warm, cosine], [3]), o);
        }
        var (chain, opt) = Chain();
        for (int i = 0; i < 5; i++) chain.Step();
        string path = Path.Combine(Path.GetTempPath(), $"cnnsharp-seq-{Guid.NewGuid():N}.safetensors");
        try
        {
            CnnSharp.IO.SafeTensors.Write(path, chain.StateDict());
            var loaded = CnnSharp.IO.SafeTensors.Read(path).ToStateDict();
            Assert.Contains("schedulers.1.last_lr", loaded.Keys);
            var (resumed, opt2) = Chain();
            resumed.LoadStateDict(loaded);
            Assert.Equal(opt.LrExact, opt2.LrExact);
            for (int i = 0; i < 4; i++)
            {
                chain.Step();
                resumed.Step();
                Assert.Equal(BitConverter.DoubleToInt64Bits(opt.LrExact), BitConverter.DoubleToInt64Bits(opt2.LrExact));
            }
        }
        finally
        {
            File.Delete(path);
        }
        var (other, _) = Chain();
        var bad = chain.StateDict();
        bad["schedulers.1.step_count"] = Tensor.Scalar(0.5f);
        var e = Assert.Throws<StateDictException>(() => other.LoadStateDict(bad));
        Assert.Contains("'step_count' must be a whole number >= 0, got 0.5", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_first_scheduler_fixes_the_initial_learning_rate_for_later_ones()
    {
        var opt = NewSgd(0.2f);
        _ = new LinearLr(opt, startFactor: 0.5, totalIters: 2);
        Assert.Equal(0.1, opt.LrExact, 12);
        var cosine = new CosineAnnealingLr(opt, tMax: 4);
        Assert.Equal(0.2, cosine.BaseLr, 12);
        Assert.Equal(0.2, opt.InitialLr!.Value, 12);
    }

    [Fact]
    public void OneCycle_refuses_to_step_past_its_cycle()
    {
        var s = new OneCycleLr(NewSgd(), maxLr: 0.1, totalSteps: 4);
        for (int i = 0; i < 4; i++) s.Step();
        Assert.Contains("cycle has 4 steps", Assert.Throws<InvalidOperationException>(s.Step).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Bad_settings_are_rejected()
    {
        var opt = NewSgd();
        Assert.Throws<ArgumentOutOfRangeException>(() => new StepLr(opt, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new StepLr(opt, 1, gamma: double.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => new LinearLr(opt, startFactor: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CosineAnnealingLr(opt, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new OneCycleLr(opt, 0.1, 10, pctStart: 0.1)); // an empty first phase
        Assert.Throws<ArgumentOutOfRangeException>(() => new ReduceLrOnPlateau(opt, factor: 1.0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new MultiStepLr(opt, [-1]));
        var a = new StepLr(opt, 2);
        Assert.Throws<ArgumentException>(() => new SequentialLr(opt, [a, new StepLr(opt, 3)], []));
        Assert.Throws<ArgumentException>(() => new SequentialLr(NewSgd(), [a], []));
        Assert.Throws<ArgumentOutOfRangeException>(() => a.Step(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => opt.LrExact = double.PositiveInfinity);
        Assert.Throws<ArgumentOutOfRangeException>(() => opt.LrExact = 1e300); // beyond float
    }
}
