using System.Text.Json;
using CnnSharp.Data;
using CnnSharp.IO;
using CnnSharp.Models;
using CnnSharp.Modules;
using CnnSharp.Optimizers;
using CnnSharp.Optimizers.Schedulers;
using CnnSharp.Tests.TestUtilities;
using CnnSharp.Training;

namespace CnnSharp.Tests.Training;

/// <summary>The training workflow of <see cref="Trainer"/>: validation, early stopping, best-only checkpoints, schedules, clipping, metrics log, resume.</summary>
public sealed class TrainerWorkflowTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static readonly TensorDataset s_train = SyntheticDigits.Create(60, seed: 1);
    private static readonly TensorDataset s_val = SyntheticDigits.Create(20, seed: 2);

    private static Module Model(ulong seed) => ModelZoo.Create("lenet5", new ZooOptions { Generator = new Generator(seed) });

    [Fact]
    public void Early_stopping_tracker_stops_after_patience_epochs_without_improvement_on_a_scripted_sequence()
    {
        // val_loss: 1.0 (best), 0.9 (best), 0.95, 0.895 (better by less than min delta 0.01), 0.7 would come too late.
        var tracker = new MonitorTracker(MonitorMetric.ValLoss, minDelta: 0.01);
        double[] losses = [1.0, 0.9, 0.95, 0.895, 0.7];
        int stoppedAfter = 0;
        for (int epoch = 1; epoch <= losses.Length; epoch++)
        {
            tracker.Update(epoch, losses[epoch - 1]);
            if (tracker.Exhausted(2)) { stoppedAfter = epoch; break; }
        }
        Assert.Equal(4, stoppedAfter);
        Assert.Equal((0.9, 2), (tracker.Best, tracker.BestEpoch));

        var accuracy = new MonitorTracker(MonitorMetric.ValAccuracy, minDelta: 0);
        Assert.True(accuracy.Update(1, 0.5));
        Assert.False(accuracy.Update(2, double.NaN));
        Assert.False(accuracy.Update(3, 0.5)); // equal is no improvement
        Assert.True(accuracy.Update(4, 0.6));
        Assert.Equal(0, accuracy.BadEpochs);
        Assert.False(accuracy.Exhausted(null));
    }

    [Fact]
    public void Fit_stops_early_and_best_only_saves_only_the_improving_epoch()
    {
        // A min delta no loss change can reach: epoch 1 improves (the first value), every later one does not.
        string path = _dir.File("best.safetensors");
        var options = new TrainingOptions
        {
            Epochs = 10, BatchSize = 20, LearningRate = 0.01f, OutputPath = path, EarlyStoppingPatience = 2, MinDelta = 100, BestOnly = true,
        };
        var model = Model(0);
        var trainer = new Trainer(model, Trainer.CreateOptimizer(model, options), options);

        var reports = trainer.Fit(s_train, validation: s_val, test: null);

        Assert.Equal([1, 2, 3], reports.Select(r => r.Epoch));
        Assert.Equal([true, false, false], reports.Select(r => r.Improved));
        Assert.Equal([false, false, true], reports.Select(r => r.StoppedEarly));
        Assert.Equal(Path.GetFullPath(path), reports[0].CheckpointPath);
        Assert.Null(reports[1].CheckpointPath);
        Assert.Null(reports[2].CheckpointPath);
        var metadata = SafeTensors.Read(path).Metadata;
        Assert.Equal("1", metadata["epoch"]);
        Assert.Equal("val_loss", metadata["monitor"]);
        Assert.Equal(reports[0].ValidationLoss, double.Parse(metadata["best_metric"], System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(1, trainer.BestEpoch);
    }

    [Fact]
    public void Test_every_skips_the_test_set_between_its_epochs_but_never_on_the_last()
    {
        var options = new TrainingOptions { Epochs = 5, BatchSize = 20, LearningRate = 0.01f, TestEvery = 2 };
        var model = Model(0);
        var reports = new Trainer(model, Trainer.CreateOptimizer(model, options), options).Fit(s_train, validation: s_val, test: s_val);
        Assert.Equal([false, true, false, true, true], reports.Select(r => double.IsFinite(r.TestAccuracy)));
        Assert.All(reports, r => Assert.True(double.IsFinite(r.ValidationAccuracy))); // validation stays every epoch
        Assert.Equal(reports[4].ValidationAccuracy, reports[4].TestAccuracy); // the same images, the same weights

        // Early stopping ends the run on epoch 3: its test set is evaluated although 3 is not a multiple of 5.
        var stopping = options with { Epochs = 10, TestEvery = 5, EarlyStoppingPatience = 2, MinDelta = 100 };
        model = Model(0);
        reports = new Trainer(model, Trainer.CreateOptimizer(model, stopping), stopping).Fit(s_train, validation: s_val, test: s_val);
        Assert.Equal([false, false, true], reports.Select(r => double.IsFinite(r.TestAccuracy)));
        Assert.True(reports[2].StoppedEarly);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Trainer(model, Trainer.CreateOptimizer(model, options), options with { TestEvery = 0 }));
    }

    [Fact]
    public void Best_only_saves_again_when_the_metric_improves()
    {
        string path = _dir.File("best.safetensors");
        var options = new TrainingOptions { Epochs = 3, BatchSize = 10, LearningRate = 0.01f, OutputPath = path, BestOnly = true, Monitor = MonitorMetric.ValLoss };
        var model = Model(0);
        var reports = new Trainer(model, Trainer.CreateOptimizer(model, options), options).Fit(s_train, validation: s_val, test: null);
        // Each report has a checkpoint exactly when its loss beat every earlier one.
        double best = double.PositiveInfinity;
        foreach (var r in reports)
        {
            bool better = r.ValidationLoss < best;
            best = Math.Min(best, r.ValidationLoss);
            Assert.Equal(better, r.CheckpointPath is not null);
            Assert.Equal(better, r.Improved);
        }
        Assert.Equal(reports.Last(r => r.Improved).Epoch.ToString(System.Globalization.CultureInfo.InvariantCulture), SafeTensors.Read(path).Metadata["epoch"]);
    }

    [Fact]
    public void Monitoring_without_a_validation_set_is_refused()
    {
        var options = new TrainingOptions { Epochs = 1, OutputPath = null, EarlyStoppingPatience = 1 };
        var model = Model(0);
        var e = Assert.Throws<ArgumentException>(() => new Trainer(model, Trainer.CreateOptimizer(model, options), options).Fit(s_train, null));
        Assert.Contains("early stopping watches val_loss, which needs a validation set", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Epoch_schedule_learning_rates_match_the_scheduler_run_on_its_own()
    {
        var options = new TrainingOptions { Epochs = 4, BatchSize = 20, LearningRate = 0.01f, OutputPath = null };
        var model = Model(0);
        var optimizer = Trainer.CreateOptimizer(model, options);
        var trainer = new Trainer(model, optimizer, options) { Schedule = LrSchedule.Create(new CosineAnnealingLr(optimizer, tMax: 4, etaMin: 1e-4)) };
        var reports = trainer.Fit(s_train, null);

        var alone = new Adam([Tensor.Zeros(1)], 0.01f);
        var cosine = new CosineAnnealingLr(alone, tMax: 4, etaMin: 1e-4);
        var expected = new List<double>();
        for (int epoch = 0; epoch < 4; epoch++)
        {
            expected.Add(alone.LrExact);
            cosine.Step();
        }
        Assert.Equal(expected, reports.Select(r => r.Lr));
        Assert.Equal(alone.LrExact, optimizer.LrExact);
        Assert.Equal(4, trainer.Schedule!.Steps);
    }

    [Fact]
    public void Batch_schedule_steps_once_per_training_step()
    {
        var options = new TrainingOptions { Epochs = 2, BatchSize = 20, LearningRate = 0.01f, OutputPath = null };
        var model = Model(0);
        var optimizer = Trainer.CreateOptimizer(model, options);
        var trainer = new Trainer(model, optimizer, options) { Schedule = LrSchedule.Create(new OneCycleLr(optimizer, 0.01, totalSteps: 6), ScheduleInterval.Batch) };
        var reports = trainer.Fit(s_train, null);

        var alone = new Adam([Tensor.Zeros(1)], 0.01f);
        var oneCycle = new OneCycleLr(alone, 0.01, totalSteps: 6);
        var starts = new List<double>();
        for (int step = 0; step < 6; step++)
        {
            if (step % 3 == 0) starts.Add(alone.LrExact);
            oneCycle.Step();
        }
        Assert.Equal(starts, reports.Select(r => r.Lr));
        Assert.Equal(alone.LrExact, optimizer.LrExact);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Clipping_bounds_the_global_gradient_norm(bool fastPath)
    {
        var options = new TrainingOptions { OutputPath = null, ClipGradNorm = 0.05f, FastPath = fastPath, LearningRate = 1e-3f };
        var model = Model(0);
        var trainer = new Trainer(model, Trainer.CreateOptimizer(model, options), options);
        var batch = new DataLoader(s_train, 20).Batches(0).First();

        trainer.TrainStep(batch.Images, batch.Labels);

        double norm = Math.Sqrt(model.Parameters().Sum(p => p.Grad!.ToArray().Sum(g => (double)g * g)));
        Assert.InRange(norm, 0.01, 0.05 * (1 + 1e-5));
        // Unclipped, the same step's gradient is larger than the bound, so the clip did something.
        var free = Model(0);
        var plain = new TrainingOptions { OutputPath = null, FastPath = fastPath };
        new Trainer(free, Trainer.CreateOptimizer(free, plain), plain).TrainStep(batch.Images, batch.Labels);
        Assert.True(Math.Sqrt(free.Parameters().Sum(p => p.Grad!.ToArray().Sum(g => (double)g * g))) > 0.05);
    }

    [Fact]
    public void A_resumed_metrics_log_that_cannot_be_rewritten_keeps_its_earlier_lines()
    {
        string path = _dir.File("metrics.jsonl");
        string[] lines = ["{\"epoch\":1}", "{\"epoch\":2}", "{\"epoch\":3}"];
        File.WriteAllLines(path, lines);
        using (FileFaults.DiskFull(failOnOpen: 1, afterBytes: 4))
            Assert.ThrowsAny<IOException>(() => MetricsLog.Open(path, startEpoch: 3).Dispose());
        Assert.Equal(lines, File.ReadAllLines(path));

        using (var writer = MetricsLog.Open(path, startEpoch: 3)) writer.WriteLine("{\"epoch\":3,\"new\":true}");
        Assert.Equal(["{\"epoch\":1}", "{\"epoch\":2}", "{\"epoch\":3,\"new\":true}"], File.ReadAllLines(path));
    }

    [Fact]
    public void Metrics_log_has_one_line_per_epoch_with_exactly_the_documented_keys()
    {
        string log = _dir.File("metrics.jsonl");
        var options = new TrainingOptions { Epochs = 2, BatchSize = 20, OutputPath = null, MetricsLogPath = log };
        var model = Model(0);
        new Trainer(model, Trainer.CreateOptimizer(model, options), options).Fit(s_train, validation: s_val, test: null);

        string[] keys = ["epoch", "epochs", "lr", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "test_loss", "test_accuracy", "seconds", "eval_seconds"];
        var lines = File.ReadAllLines(log);
        Assert.Equal(2, lines.Length);
        for (int i = 0; i < lines.Length; i++)
        {
            using var doc = JsonDocument.Parse(lines[i]);
            var root = doc.RootElement;
            Assert.Equal(keys, root.EnumerateObject().Select(p => p.Name));
            Assert.Equal(i + 1, root.GetProperty("epoch").GetInt32());
            Assert.Equal(2, root.GetProperty("epochs").GetInt32());
            Assert.Equal(1e-3, root.GetProperty("lr").GetDouble(), 9);
            foreach (var key in new[] { "train_accuracy", "val_accuracy" })
                Assert.InRange(root.GetProperty(key).GetDouble(), 0, 1);
            Assert.Equal(JsonValueKind.Null, root.GetProperty("test_loss").ValueKind);
            Assert.Equal(JsonValueKind.Null, root.GetProperty("test_accuracy").ValueKind);
            Assert.True(root.GetProperty("seconds").GetDouble() >= 0);
        }
        Assert.Equal(keys, MetricsLog.Keys);
        Assert.Contains("\"train_loss\":null", MetricsLog.Format(new EpochReport(1, 1, double.PositiveInfinity, 0.5, 0.25, 0, default, default, null)), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void Resume_continues_schedule_and_early_stopping_exactly_like_an_uninterrupted_run(bool perBatch, bool earlierFormat)
    {
        var options = new TrainingOptions { Epochs = 3, BatchSize = 20, Seed = 4, LearningRate = 0.01f, EarlyStoppingPatience = 5 };
        LrSchedule Schedule(Optimizer o) => perBatch
            ? LrSchedule.Create(new OneCycleLr(o, 0.01, totalSteps: 9), ScheduleInterval.Batch)
            : LrSchedule.Create(new StepLr(o, stepSize: 1, gamma: 0.5));
        Trainer Create(TrainingOptions o)
        {
            var model = Model(o.Seed);
            var optimizer = Trainer.CreateOptimizer(model, o);
            return new Trainer(model, optimizer, o) { Schedule = Schedule(optimizer) };
        }

        var whole = Create(options with { OutputPath = _dir.File("whole.safetensors") });
        var wholeReports = whole.Fit(s_train, validation: s_val, test: null);

        string path = _dir.File("part.safetensors");
        Create(options with { OutputPath = path, Epochs = 1 }).Fit(s_train, validation: s_val, test: null);
        var saved = SafeTensors.Read(path);
        // The scheduler's StateDict, entry by entry: one step per epoch, or per batch (3 batches of 20).
        Assert.Equal(perBatch ? "3" : "1", saved.Metadata["scheduler.last_epoch"]);
        Assert.True(saved.Metadata.ContainsKey("scheduler.last_lr"));
        if (earlierFormat)
        {
            // A checkpoint of the earlier format holds the step count alone; it resumes by replaying the steps.
            var metadata = saved.Metadata.Where(kv => !kv.Key.StartsWith("scheduler.", StringComparison.Ordinal)).ToDictionary();
            SafeTensors.Write(path, saved.Entries, metadata);
        }
        var resumed = Create(options with { OutputPath = path });
        Assert.Equal(1, resumed.Resume(path).Epoch);
        var resumedReports = resumed.Fit(s_train, validation: s_val, test: null);

        Assert.Equal([2, 3], resumedReports.Select(r => r.Epoch));
        Assert.Equal(wholeReports.Skip(1).Select(r => (r.Lr, r.TrainLoss, r.ValidationLoss)), resumedReports.Select(r => (r.Lr, r.TrainLoss, r.ValidationLoss)));
        Assert.Equal(whole.Optimizer.LrExact, resumed.Optimizer.LrExact);
        Assert.Equal((whole.BestMetric, whole.BestEpoch), (resumed.BestMetric, resumed.BestEpoch));
        foreach (var ((key, x), (_, y)) in whole.Model.StateDict().Zip(resumed.Model.StateDict()))
            Assert.True(x.ToArray().SequenceEqual(y.ToArray()), $"{key} differs between the resumed and the uninterrupted run");
    }

    [Theory]
    [InlineData("scheduler.last_lr", "fast", "'scheduler.last_lr' is not a number: 'fast'")]
    [InlineData("scheduler.step_count", "-2", "'step_count' must be a whole number >= 0, got -2")]
    [InlineData("scheduler.gamma", "0.5", "unexpected key(s) 'gamma'")]
    public void Resume_names_a_bad_scheduler_state_entry(string key, string value, string expected)
    {
        string path = _dir.File("bad.safetensors");
        var options = new TrainingOptions { Epochs = 1, BatchSize = 20, OutputPath = path };
        Trainer Create()
        {
            var model = Model(0);
            var optimizer = Trainer.CreateOptimizer(model, options);
            return new Trainer(model, optimizer, options) { Schedule = LrSchedule.Create(new StepLr(optimizer, 1)) };
        }
        Create().Fit(s_train, null);
        var saved = SafeTensors.Read(path);
        var metadata = new Dictionary<string, string>(saved.Metadata) { [key] = value };
        SafeTensors.Write(path, saved.Entries, metadata);

        var e = Assert.Throws<InvalidDataException>(() => Create().Resume(path));
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Resume_refuses_another_schedule_or_model()
    {
        string path = _dir.File("run.safetensors");
        var options = new TrainingOptions { Epochs = 1, BatchSize = 20, OutputPath = path };
        var model = Model(0);
        new Trainer(model, Trainer.CreateOptimizer(model, options), options) { CheckpointMetadata = new Dictionary<string, string> { ["model"] = "lenet5" } }
            .Fit(s_train, null);
        Assert.Equal("lenet5", SafeTensors.Read(path).Metadata["model"]);

        var again = Model(0);
        var optimizer = Trainer.CreateOptimizer(again, options);
        var scheduled = new Trainer(again, optimizer, options) { Schedule = LrSchedule.Create(new StepLr(optimizer, 1)) };
        var e = Assert.Throws<HyperparameterMismatchException>(() => scheduled.Resume(path));
        Assert.Equal(("Schedule", "none", "StepLr"), (e.Setting, e.CheckpointValue, e.RequestedValue));

        var other = new Trainer(again, Trainer.CreateOptimizer(again, options), options) { CheckpointMetadata = new Dictionary<string, string> { ["model"] = "resnet8" } };
        e = Assert.Throws<HyperparameterMismatchException>(() => other.Resume(path));
        Assert.Equal(("model", "lenet5", "resnet8"), (e.Setting, e.CheckpointValue, e.RequestedValue));
    }
}
