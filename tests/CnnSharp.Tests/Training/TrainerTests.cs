using CnnSharp.Autograd;
using CnnSharp.Data;
using CnnSharp.Functional;
using CnnSharp.IO;
using CnnSharp.Models;
using CnnSharp.Optimizers;
using CnnSharp.Tests.TestUtilities;
using CnnSharp.Training;

namespace CnnSharp.Tests.Training;

public sealed class TrainerTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static (ConvNet Model, Trainer Trainer) Create(TrainingOptions options)
    {
        var model = new ConvNet(generator: new Generator(options.Seed));
        return (model, new Trainer(model, Trainer.CreateOptimizer(model, options), options));
    }

    [Fact]
    public void Fit_learns_synthetic_digits_and_reports_every_epoch()
    {
        var train = SyntheticDigits.Create(300, seed: 1);
        var test = SyntheticDigits.Create(100, seed: 2);
        var options = new TrainingOptions { Epochs = 2, BatchSize = 25, LearningRate = 0.01f, OutputPath = null };
        var (_, trainer) = Create(options);
        var batches = new Collect<BatchReport>();
        var epochs = new Collect<EpochReport>();
        var reports = new Trainer(trainer.Model, trainer.Optimizer, options) { BatchProgress = batches }.Fit(train, test, epochs);

        Assert.Equal(reports, epochs.Items);
        Assert.Equal([1, 2], reports.Select(r => r.Epoch));
        Assert.All(reports, r => Assert.Equal(300, r.TrainImages));
        Assert.All(reports, r => Assert.True(r.ImagesPerSecond > 0 && r.TrainTime > TimeSpan.Zero));
        Assert.Equal(24, batches.Items.Count);
        Assert.Equal(Enumerable.Range(1, 12), batches.Items.Take(12).Select(b => b.Batch));
        Assert.True(reports[1].TrainLoss < reports[0].TrainLoss, $"train loss {reports[0].TrainLoss} -> {reports[1].TrainLoss}");
        Assert.True(reports[1].TestAccuracy >= 0.95, $"test accuracy {reports[1].TestAccuracy}");
        Assert.Null(reports[0].CheckpointPath);
    }

    [Fact]
    public void Same_seed_gives_bitwise_identical_weights_and_resume_matches_an_uninterrupted_run()
    {
        var train = SyntheticDigits.Create(120, seed: 3);
        string path = Path.Combine(_dir.Path, "run.safetensors");
        var twoEpochs = new TrainingOptions { Epochs = 2, BatchSize = 20, Seed = 5, OutputPath = null };

        var (a, trainerA) = Create(twoEpochs);
        trainerA.Fit(train, null);
        var (b, trainerB) = Create(twoEpochs);
        trainerB.Fit(train, null);
        Assert.Equal(a.Parameters().SelectMany(p => p.ToArray()), b.Parameters().SelectMany(p => p.ToArray()));

        // Stop after epoch 1 with a checkpoint, resume in a fresh process-like setup, run epoch 2.
        var (_, first) = Create(twoEpochs with { Epochs = 1, OutputPath = path });
        var reports = first.Fit(train, null);
        Assert.Equal(Path.GetFullPath(path), reports[0].CheckpointPath);
        var resumed = new ConvNet(generator: new Generator(123));
        var optimizer = Trainer.CreateOptimizer(resumed, twoEpochs);
        int epoch = Checkpoint.Load(path, resumed, optimizer).Epoch;
        Assert.Equal(1, epoch);
        new Trainer(resumed, optimizer, twoEpochs).Fit(train, null, startEpoch: epoch + 1);
        foreach (var ((key, x), (_, y)) in a.StateDict().Zip(resumed.StateDict()))
            Assert.True(x.ToArray().SequenceEqual(y.ToArray()), $"{key} differs between the resumed and the uninterrupted run");
    }

    [Fact]
    public void Sgd_option_builds_sgd_with_momentum()
    {
        var model = new ConvNet();
        var opt = Assert.IsType<Sgd>(Trainer.CreateOptimizer(model, new TrainingOptions { Optimizer = OptimizerKind.Sgd, LearningRate = 0.05f, Momentum = 0.9f }));
        Assert.Equal(0.9f, opt.Momentum);
        Assert.Equal(0.05f, opt.Lr);
        Assert.IsType<Adam>(Trainer.CreateOptimizer(model, new TrainingOptions()));
        Assert.Equal(10, opt.Parameters.Count);
    }

    [Fact]
    public void Evaluator_counts_correct_predictions_without_grad_and_restores_mode()
    {
        var data = SyntheticDigits.Create(37, seed: 4);
        var model = new ConvNet(generator: new Generator(2));
        var result = Evaluator.Evaluate(model, data, batchSize: 10);
        Assert.True(model.Training);
        Assert.All(model.Parameters(), p => Assert.Null(p.Grad));
        Assert.Equal(37, result.Count);

        // The same numbers by hand, in eval mode, one batch.
        model.Eval();
        using var noGrad = GradMode.NoGrad();
        var all = new DataLoader(data, 37).Batches(0).Single();
        var logits = model.Forward(all.Images);
        int correct = logits.ArgMax(1).Zip(all.Labels).Count(p => p.First == p.Second);
        Assert.Equal(correct, result.Correct);
        Assert.Equal((double)correct / 37, result.Accuracy);
        Assert.Equal(F.CrossEntropy(logits, all.Labels).Item(), result.MeanLoss, 5);
    }

    [Fact]
    public void Invalid_options_throw_naming_the_setting()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new TrainingOptions { Epochs = 0 }.Validate());
        Assert.Equal("Epochs", ex.ParamName);
        ex = Assert.Throws<ArgumentOutOfRangeException>(() => new TrainingOptions { LearningRate = float.NaN }.Validate());
        Assert.Equal("LearningRate", ex.ParamName);
        ex = Assert.Throws<ArgumentOutOfRangeException>(() => new TrainingOptions { EarlyStoppingPatience = 0 }.Validate());
        Assert.Equal("EarlyStoppingPatience", ex.ParamName);
        ex = Assert.Throws<ArgumentOutOfRangeException>(() => new TrainingOptions { ClipGradNorm = -1f }.Validate());
        Assert.Equal("ClipGradNorm", ex.ParamName);
    }

    [Fact]
    public void Defaults_are_the_seeds_settings()
    {
        var o = new TrainingOptions();
        Assert.Equal((5, 100, 0.001f, OptimizerKind.Adam), (o.Epochs, o.BatchSize, o.LearningRate, o.Optimizer));
    }

    // Found by hostile use: an empty training set ran zero steps, reported a NaN loss and saved the untrained weights.
    [Fact]
    public void Fit_refuses_an_empty_training_or_validation_set()
    {
        var data = SyntheticDigits.Create(10, seed: 1);
        var empty = new Subset(data, []);
        string output = _dir.File("empty.safetensors");
        var options = new TrainingOptions { Epochs = 1, BatchSize = 5, OutputPath = output };
        var (_, trainer) = Create(options);
        var e = Assert.Throws<ArgumentException>(() => trainer.Fit(empty, null, (IDataset?)null));
        Assert.Contains("training set is empty", e.Message, StringComparison.Ordinal);
        var v = Assert.Throws<ArgumentException>(() => trainer.Fit(data, empty, (IDataset?)null));
        Assert.Contains("validation set is empty", v.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(output));
    }
}
