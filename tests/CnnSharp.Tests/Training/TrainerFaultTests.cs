using System.Diagnostics;
using CnnSharp.IO;
using CnnSharp.Models;
using CnnSharp.Tests.TestUtilities;
using CnnSharp.Training;

namespace CnnSharp.Tests.Training;

/// <summary>
/// Faults around <see cref="Trainer.Fit"/>: divergence (NaN/Inf loss or weights), output problems found before the first
/// batch (missing or read-only directory, disk full), disk full at a later save, stale temporary files, the output lock,
/// and a resume with changed settings.
/// </summary>
public sealed class TrainerFaultTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static readonly CnnSharp.Data.TensorDataset s_train = SyntheticDigits.Create(100, seed: 11);

    private static Trainer Create(TrainingOptions options, IProgress<BatchReport>? batches = null)
    {
        var model = new ConvNet(generator: new Generator(options.Seed));
        return new Trainer(model, Trainer.CreateOptimizer(model, options), options) { BatchProgress = batches };
    }

    private TrainingOptions Options(bool fast, string? output = "run.safetensors") => new()
    {
        Epochs = 3, BatchSize = 20, Seed = 5, LearningRate = 0.01f, FastPath = fast,
        OutputPath = output is null ? null : _dir.File(output),
    };

    private sealed class OnEpoch(Action<EpochReport> action) : IProgress<EpochReport>
    {
        public void Report(EpochReport value) => action(value);
    }

    private string[] Temporaries() => Directory.GetFiles(_dir.Path, "*.tmp");

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_NaN_weight_stops_the_run_and_keeps_the_last_finite_checkpoint(bool fast)
    {
        var options = Options(fast);
        var trainer = Create(options);
        byte[]? afterEpoch1 = null;
        var progress = new OnEpoch(r =>
        {
            if (r.Epoch != 1) return;
            afterEpoch1 = File.ReadAllBytes(options.OutputPath!);
            trainer.Model.StateDict().Single(e => e.Key == "layer1.0.weight").Value.Data[3] = float.NaN;
        });

        var e = Assert.Throws<TrainingDivergedException>(() => trainer.Fit(s_train, null, progress));

        Assert.Equal(2, e.Epoch);
        Assert.Equal(1, e.CheckpointEpoch);
        Assert.Equal(Path.GetFullPath(options.OutputPath!), e.CheckpointPath);
        if (fast)
        {
            // The compiled step reports NaN loss as soon as a parameter is NaN (the first step after the injection).
            Assert.Equal(1, e.Batch);
            Assert.True(float.IsNaN(e.Loss));
        }
        Assert.Contains("epoch 2", e.Message, StringComparison.Ordinal);
        Assert.Contains($"{options.OutputPath} (epoch 1)", e.Message, StringComparison.Ordinal);
        Assert.Equal(afterEpoch1, File.ReadAllBytes(options.OutputPath!));
        var model = new ConvNet(generator: new Generator(1));
        Assert.Equal(1, Checkpoint.Load(options.OutputPath!, model).Epoch);
        Assert.Null(Trainer.FirstNonFinite(model.StateDict()));
        Assert.Empty(Temporaries());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_huge_learning_rate_diverges_and_never_saves_non_finite_weights(bool fast)
    {
        var options = Options(fast) with { Optimizer = OptimizerKind.Sgd, LearningRate = 1e6f, Momentum = 0.9f, Epochs = 4 };
        var trainer = Create(options);

        var e = Assert.Throws<TrainingDivergedException>(() => trainer.Fit(s_train, null));

        Assert.Contains("training diverged", e.Message, StringComparison.Ordinal);
        if (File.Exists(options.OutputPath))
        {
            var model = new ConvNet(generator: new Generator(1));
            Assert.Equal(e.CheckpointEpoch, Checkpoint.Load(options.OutputPath!, model).Epoch);
            Assert.Null(Trainer.FirstNonFinite(model.StateDict()));
        }
        else
        {
            Assert.Null(e.CheckpointPath);
        }
    }

    [Fact]
    public void Divergence_before_any_checkpoint_says_none_was_written()
    {
        var options = Options(fast: true);
        var trainer = Create(options);
        trainer.Model.StateDict().Single(e => e.Key == "fc.weight").Value.Data[0] = float.PositiveInfinity;

        var e = Assert.Throws<TrainingDivergedException>(() => trainer.Fit(s_train, null));

        Assert.Equal((1, 1), (e.Epoch, e.Batch));
        Assert.Null(e.CheckpointPath);
        Assert.Contains("no checkpoint was written", e.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(options.OutputPath));
    }

    [Fact]
    public void A_missing_output_directory_fails_before_the_first_batch_naming_the_path()
    {
        string output = Path.Combine(_dir.Path, "no-such-dir", "run.safetensors");
        var batches = new Collect<BatchReport>();
        var trainer = Create(Options(fast: true) with { OutputPath = output }, batches);

        var e = Assert.Throws<DirectoryNotFoundException>(() => trainer.Fit(s_train, null));

        Assert.Contains(output, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(".tmp", e.Message, StringComparison.Ordinal);
        Assert.Empty(batches.Items);
    }

    [Fact]
    public void An_output_that_is_a_directory_fails_before_the_first_batch()
    {
        string output = Directory.CreateDirectory(_dir.File("out")).FullName;
        var batches = new Collect<BatchReport>();
        var trainer = Create(Options(fast: true) with { OutputPath = output }, batches);

        var e = Assert.Throws<IOException>(() => trainer.Fit(s_train, null));

        Assert.Contains($"{output} is a directory", e.Message, StringComparison.Ordinal);
        Assert.Empty(batches.Items);
    }

    [Fact]
    public void A_read_only_output_directory_fails_before_the_first_batch_naming_the_path()
    {
        using var readOnly = FileFaults.ReadOnlyDirectory(_dir.File("ro"));
        string output = Path.Combine(readOnly.Path, "run.safetensors");
        var batches = new Collect<BatchReport>();
        var trainer = Create(Options(fast: true) with { OutputPath = output }, batches);

        var e = Assert.Throws<UnauthorizedAccessException>(() => trainer.Fit(s_train, null));

        Assert.Contains(output, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(".tmp", e.Message, StringComparison.Ordinal);
        Assert.Empty(batches.Items);
        Assert.Empty(Directory.GetFiles(readOnly.Path));
    }

    [Fact]
    public void A_full_disk_fails_before_the_first_batch_naming_the_path()
    {
        var batches = new Collect<BatchReport>();
        var options = Options(fast: true);
        var trainer = Create(options, batches);
        using var full = FileFaults.DiskFull(failOnOpen: 1, afterBytes: 1000);

        var e = Assert.Throws<IOException>(() => trainer.Fit(s_train, null));

        Assert.Contains("No space left on device", e.Message, StringComparison.Ordinal);
        Assert.Contains(options.OutputPath!, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(".tmp", e.Message, StringComparison.Ordinal);
        Assert.Empty(batches.Items);
        Assert.Empty(Temporaries());
        Assert.False(File.Exists(options.OutputPath));
    }

    [Fact]
    public void A_disk_that_fills_during_the_run_keeps_the_previous_checkpoint()
    {
        var options = Options(fast: true);
        var trainer = Create(options);
        // Opens: 1 the probe, 2 epoch 1's checkpoint, 3 epoch 2's.
        using var full = FileFaults.DiskFull(failOnOpen: 3, afterBytes: 5000);

        var e = Assert.Throws<IOException>(() => trainer.Fit(s_train, null));

        Assert.Contains(options.OutputPath!, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(".tmp", e.Message, StringComparison.Ordinal);
        Assert.Equal(1, Checkpoint.Load(options.OutputPath!, new ConvNet(generator: new Generator(1))).Epoch);
        Assert.Empty(Temporaries());
    }

    [Fact]
    public void Temporaries_of_dead_processes_are_removed_at_the_start_and_live_ones_kept()
    {
        var options = Options(fast: true) with { Epochs = 1 };
        int dead = FileFaults.DeadProcessId();
        using var live = Process.Start("sleep", "60");
        try
        {
            string Orphan(int pid) => _dir.File($".run.safetensors.{pid}.0123abcd.tmp");
            File.WriteAllText(Orphan(dead), "partial checkpoint of a killed run");
            File.WriteAllText(Orphan(live.Id), "a live writer's file");
            File.WriteAllText(_dir.File($".other.safetensors.{dead}.0123abcd.tmp"), "another output's file");

            Create(options).Fit(s_train, null);

            Assert.False(File.Exists(Orphan(dead)));
            Assert.True(File.Exists(Orphan(live.Id)));
            Assert.True(File.Exists(_dir.File($".other.safetensors.{dead}.0123abcd.tmp")));
        }
        finally
        {
            live.Kill();
        }
    }

    [Fact]
    public void A_second_run_on_a_locked_output_is_refused_and_the_lock_is_released_after_the_run()
    {
        var options = Options(fast: true) with { Epochs = 1 };
        var batches = new Collect<BatchReport>();
        using (OutputLock.Acquire(options.OutputPath!))
        {
            var e = Assert.Throws<OutputLockedException>(() => Create(options, batches).Fit(s_train, null));
            Assert.Contains($"{options.OutputPath} is being written by another training run", e.Message, StringComparison.Ordinal);
            Assert.Contains($"process {Environment.ProcessId}", e.Message, StringComparison.Ordinal);
            Assert.Empty(batches.Items);
        }
        Create(options).Fit(s_train, null);
        using (OutputLock.Acquire(options.OutputPath!))
        {
            // Fit released its lock.
        }
    }

    public static TheoryData<string, TrainingOptions> ChangedSettings() => new()
    {
        { "Seed", new TrainingOptions { Seed = 6, BatchSize = 20, LearningRate = 0.01f } },
        { "BatchSize", new TrainingOptions { Seed = 5, BatchSize = 25, LearningRate = 0.01f } },
        { "LearningRate", new TrainingOptions { Seed = 5, BatchSize = 20, LearningRate = 0.02f } },
        { "Optimizer", new TrainingOptions { Seed = 5, BatchSize = 20, LearningRate = 0.01f, Optimizer = OptimizerKind.Sgd } },
        { "LabelSmoothing", new TrainingOptions { Seed = 5, BatchSize = 20, LearningRate = 0.01f, LabelSmoothing = 0.1f } },
    };

    [Theory, MemberData(nameof(ChangedSettings))]
    public void Resume_with_a_changed_setting_is_refused_unless_allowed(string setting, TrainingOptions requested)
    {
        var options = Options(fast: true) with { Epochs = 1 };
        Create(options).Fit(s_train, null);
        var metadata = SafeTensors.Read(options.OutputPath!).Metadata;

        var e = Assert.Throws<HyperparameterMismatchException>(() => CheckResume(options.OutputPath!, metadata, requested));

        Assert.Equal(setting, e.Setting);
        Assert.Contains(options.OutputPath!, e.Message, StringComparison.Ordinal);
        Assert.NotEqual(e.CheckpointValue, e.RequestedValue);
        CheckResume(options.OutputPath!, metadata, requested with { AllowChangedHyperparameters = true });
        CheckResume(options.OutputPath!, metadata, options);
    }

    private static void CheckResume(string path, IReadOnlyDictionary<string, string> metadata, TrainingOptions requested)
    {
        var model = new ConvNet(generator: new Generator(1));
        new Trainer(model, Trainer.CreateOptimizer(model, requested), requested).CheckResumeSettings(path, metadata);
    }

    [Fact]
    public void Resume_of_an_sgd_run_with_another_momentum_is_refused()
    {
        var options = Options(fast: true) with { Epochs = 1, Optimizer = OptimizerKind.Sgd, Momentum = 0.9f };
        Create(options).Fit(s_train, null);
        var metadata = SafeTensors.Read(options.OutputPath!).Metadata;
        var requested = options with { Momentum = 0.5f };

        var e = Assert.Throws<HyperparameterMismatchException>(() => CheckResume(options.OutputPath!, metadata, requested));

        Assert.Equal(("Momentum", "0.9", "0.5"), (e.Setting, e.CheckpointValue, e.RequestedValue));
    }
}
