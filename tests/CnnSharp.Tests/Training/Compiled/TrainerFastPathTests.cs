using CnnSharp.Data;
using CnnSharp.Models;
using CnnSharp.Tests.Training;
using CnnSharp.Training;

namespace CnnSharp.Tests.Training.Compiled;

/// <summary>The Trainer runs the tutorial's ConvNet on the compiled executor, and it trains like the eager path.</summary>
public sealed class TrainerFastPathTests
{
    private static Trainer Create(bool fast, ulong seed)
    {
        var options = new TrainingOptions { Epochs = 1, BatchSize = 20, Seed = seed, OutputPath = null, FastPath = fast };
        var model = new ConvNet(generator: new Generator(seed));
        return new Trainer(model, Trainer.CreateOptimizer(model, options), options);
    }

    [Fact]
    public void Fast_and_generic_paths_give_the_same_losses_and_weights_after_several_Adam_steps()
    {
        var fast = Create(fast: true, seed: 3);
        var generic = Create(fast: false, seed: 3);
        Assert.True(fast.UsesFastPath);
        Assert.False(generic.UsesFastPath);
        var data = SyntheticDigits.Create(60, seed: 8);
        foreach (var batch in new DataLoader(data, 20, shuffle: true, seed: 1).Batches(0))
        {
            float a = fast.TrainStep(batch.Images, batch.Labels), b = generic.TrainStep(batch.Images, batch.Labels);
            Assert.True(Math.Abs(a - b) <= 1e-4 * Math.Max(1, Math.Abs(b)), $"loss {a} vs {b}");
        }
        var want = generic.Model.StateDict().ToDictionary(e => e.Key, e => e.Value);
        foreach (var (key, got) in fast.Model.StateDict())
        {
            var w = want[key].Data;
            double scale = 0, worst = 0;
            for (int i = 0; i < w.Length; i++)
            {
                scale = Math.Max(scale, Math.Abs(w[i]));
                worst = Math.Max(worst, Math.Abs(w[i] - got.Data[i]));
            }
            // Adam normalises each step by sqrt(v): parameters whose gradient is ~0 (the conv biases, cancelled by batch
            // norm) move by up to lr per step in directions set by rounding noise, on either path: at most 2 * 3 steps * lr apart.
            // running_mean includes those biases: after steps 1..3 they differ by at most 2, 4, 6 * lr, weighted by momentum 0.1.
            double tol = key.EndsWith(".0.bias", StringComparison.Ordinal) ? 2 * 3 * 1e-3 + 1e-6
                : key.EndsWith("running_mean", StringComparison.Ordinal) ? 0.1 * (2 + 4 + 6) * 1e-3 + 1e-4 * scale
                : 1e-4 * scale + 1e-6;
            Assert.True(worst <= tol, $"{key}: max difference {worst:E3} (scale {scale:E3})");
        }
    }

    [Fact]
    public void Fast_evaluation_matches_the_generic_evaluator()
    {
        var trainer = Create(fast: true, seed: 4);
        var data = SyntheticDigits.Create(50, seed: 9);
        foreach (var batch in new DataLoader(data, 25, shuffle: true, seed: 2).Batches(0)) trainer.TrainStep(batch.Images, batch.Labels);
        var generic = Evaluator.Evaluate(trainer.Model, data, 16);
        var fast = Evaluator.Evaluate(trainer.Model.Compile(), data, 16);
        Assert.Equal(generic.Correct, fast.Correct);
        Assert.Equal(generic.Count, fast.Count);
        Assert.True(Math.Abs(generic.MeanLoss - fast.MeanLoss) <= 1e-4 * Math.Max(1, generic.MeanLoss), $"{fast.MeanLoss} vs {generic.MeanLoss}");
    }
}
