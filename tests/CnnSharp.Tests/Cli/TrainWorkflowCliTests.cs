using System.Globalization;
using System.Text.Json;
using CnnSharp.Cli.Commands;
using CnnSharp.Cli.Training;
using CnnSharp.IO;
using CnnSharp.Models;
using CnnSharp.Tests.TestUtilities;
using CnnSharp.Training;

namespace CnnSharp.Tests.Cli;

/// <summary><c>cnnsharp train</c> with the workflow options, end to end on a small generated image folder.</summary>
public sealed class TrainWorkflowCliTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public TrainWorkflowCliTests() => Folder = CreateFolder(Path.Combine(_dir.Path, "shapes"));

    public void Dispose() => _dir.Dispose();

    private string Folder { get; }

    // Three classes of 8x8 grayscale images (a bright row, column or diagonal, with noise), 10 images each.
    private static string CreateFolder(string root)
    {
        var random = new Random(7);
        string[] classes = ["column", "diagonal", "row"];
        for (int k = 0; k < classes.Length; k++)
        {
            Directory.CreateDirectory(Path.Combine(root, classes[k]));
            for (int n = 0; n < 10; n++)
            {
                var pixels = new byte[64];
                for (int i = 0; i < 64; i++) pixels[i] = (byte)random.Next(0, 40);
                int at = random.Next(1, 7);
                for (int j = 0; j < 8; j++)
                {
                    int index = k switch { 0 => j * 8 + at, 1 => j * 8 + j, _ => at * 8 + j };
                    pixels[index] = 255;
                }
                File.WriteAllBytes(Path.Combine(root, classes[k], $"{n}.png"), PngWriter.Encode(8, 8, 1, pixels));
            }
        }
        return root;
    }

    private static (int ExitCode, string Output) Invoke(params string[] args) => CliRunner.Invoke(200, args);

    private string[] Train(string output, params string[] extra) =>
        ["train", "--model", "lenet5", "--dataset", Folder, "--batch-size", "8", "--output", output, "--threads", "1", .. extra];

    [Fact]
    public void Lenet5_on_an_image_folder_with_validation_split_and_metrics_log()
    {
        string output = _dir.File("lenet5.safetensors"), log = _dir.File("metrics.jsonl");

        var (code, text) = Invoke(Train(output, "--val-split", "0.2", "--epochs", "2", "--metrics-log", log, "--augment", "standard", "--normalize"));

        Assert.True(code == 0, text);
        Assert.Contains("Training lenet5 on", text, StringComparison.Ordinal);
        Assert.Contains("val accuracy", text, StringComparison.Ordinal);
        var lines = File.ReadAllLines(log);
        Assert.Equal(2, lines.Length);
        foreach (var line in lines)
        {
            using var doc = JsonDocument.Parse(line);
            Assert.Equal(MetricsLog.Keys, doc.RootElement.EnumerateObject().Select(p => p.Name));
            Assert.InRange(doc.RootElement.GetProperty("val_accuracy").GetDouble(), 0, 1);
            Assert.Equal(JsonValueKind.Null, doc.RootElement.GetProperty("test_accuracy").ValueKind); // a folder without test/
        }
        var metadata = SafeTensors.Read(output).Metadata;
        Assert.Equal("lenet5", metadata["model"]);
        Assert.Equal(("1", "3", "28"), (metadata["in_channels"], metadata["num_classes"], metadata["image_size"]));
        Assert.Equal(Path.GetFullPath(Folder), metadata["dataset"]);
        Assert.Equal("column,diagonal,row", metadata["classes"]);
        Assert.Single(metadata["normalize_mean"].Split(','));
        // The checkpoint rebuilds from its metadata alone.
        var model = ModelZoo.Create(metadata["model"], new ZooOptions { NumClasses = int.Parse(metadata["num_classes"], CultureInfo.InvariantCulture) });
        Checkpoint.Load(output, model);
    }

    [Fact]
    public void Json_prints_one_json_object_per_epoch_then_the_total_time()
    {
        var (code, text) = Invoke(Train(_dir.File("j.safetensors"), "--epochs", "2", "--json", "--scheduler", "cosine", "--optimizer", "adamw"));

        Assert.Equal(0, code);
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length);
        foreach (var line in lines[..2])
        {
            using var doc = JsonDocument.Parse(line);
            Assert.Equal(MetricsLog.Keys, doc.RootElement.EnumerateObject().Select(p => p.Name));
        }
        using var total = JsonDocument.Parse(lines[2]);
        Assert.Equal(["epochs_run", "total_seconds"], total.RootElement.EnumerateObject().Select(p => p.Name));
        Assert.Equal(2, total.RootElement.GetProperty("epochs_run").GetInt32());
        Assert.InRange(total.RootElement.GetProperty("total_seconds").GetDouble(), 0.001, 600);
    }

    [Fact]
    public void Limit_applies_to_the_image_folder_and_the_total_time_ends_the_summary()
    {
        // The folder holds 30 images: --limit counts them, not MNIST's 60,000.
        var job = new TrainingJobOptions
        {
            Model = "lenet5", Dataset = Folder, Limit = 12, Threads = 1,
            Training = new TrainingOptions { Epochs = 1, BatchSize = 8, OutputPath = null },
        };
        Assert.Equal(12, TrainingJob.Run(job).TrainCount);

        var (code, text) = Invoke(Train(_dir.File("limit.safetensors"), "--epochs", "1", "--limit", "30"));
        Assert.True(code == 0, text);
        Assert.Contains("first 30 training images", text, StringComparison.Ordinal);
        Assert.Matches(@"\(30\s+training,\s+0\s+test\s+images\)", text); // the title may wrap
        Assert.Matches(@"Total time: \d+\.\d s", text);

        (code, text) = Invoke(Train(_dir.File("limit.safetensors"), "--epochs", "1", "--limit", "31"));
        Assert.Equal(1, code);
        Assert.Contains($"--limit 31: {Path.GetFullPath(Folder)} has 30 training images", text.ReplaceLineEndings(""), StringComparison.Ordinal);
    }

    [Fact]
    public void Learning_rate_1e30_exits_3_with_a_divergence_message_and_keeps_the_finite_checkpoint()
    {
        // The ConvNet (ReLU, batch norm) overflows within two steps at that rate; LeNet-5's tanh saturates and stays finite.
        string output = _dir.File("run.safetensors");
        string[] Convnet(params string[] extra)
        {
            var args = Train(output, extra);
            args[Array.IndexOf(args, "lenet5")] = "convnet";
            return args;
        }
        var (code, text) = Invoke(Convnet("--epochs", "1"));
        Assert.True(code == 0, text);

        (code, text) = Invoke(Convnet("--epochs", "2", "--resume", output, "--lr", "1e30", "--allow-changed-hyperparameters"));

        Assert.True(code == TrainCommand.DivergedExitCode, text);
        Assert.Contains("training diverged in epoch 2", text, StringComparison.Ordinal);
        Assert.Contains($"the last finite checkpoint is kept: {output} (epoch 1)", text, StringComparison.Ordinal);
        var model = ModelZoo.Create("convnet", new ZooOptions { NumClasses = 3 });
        Assert.Equal(1, Checkpoint.Load(output, model).Epoch);
        Assert.Null(Trainer.FirstNonFinite(model.StateDict()));
    }

    [Theory]
    [InlineData("--model", "convnet", "--model convnet differs from the lenet5 that")]
    [InlineData("--scheduler", "step", "--scheduler step(step_size=10,gamma=0.1) differs from the none that")]
    public void Resume_with_a_contradicting_setting_is_refused(string option, string value, string expected)
    {
        string first = _dir.File("first.safetensors");
        Assert.Equal(0, Invoke(Train(first, "--epochs", "1")).ExitCode);
        string output = _dir.File("second.safetensors");
        var args = Train(output, "--epochs", "2", "--resume", first);
        if (option == "--model") args[Array.IndexOf(args, "lenet5")] = value;
        else args = [.. args, option, value];

        var (code, text) = Invoke(args);

        Assert.True(code == 1, text);
        Assert.Contains(expected, text, StringComparison.Ordinal);
        Assert.Contains("--allow-changed-hyperparameters", text, StringComparison.Ordinal);
        Assert.False(File.Exists(output));
    }

    [Fact]
    public void Early_stopping_without_a_validation_split_is_an_error_naming_the_option()
    {
        var (code, text) = Invoke(Train(_dir.File("e.safetensors"), "--early-stopping", "2"));
        Assert.Equal(1, code);
        Assert.Contains("--early-stopping watches val_loss, which needs a validation set: add --val-split", text, StringComparison.Ordinal);
    }

    // Found by hostile use: --val-split 0.99 on a small folder held out every image; train ran 0 steps, printed "train loss
    // NaN", saved the untrained weights and exited 0. --val-split 0.01 held out none and reported NaN validation metrics.
    [Theory]
    [InlineData("0.99", "--val-split 0.99: leaves no training image (all 30 of")]
    [InlineData("0.01", "--val-split 0.01: holds out no image (")]
    public void Val_split_that_empties_one_side_is_an_error_naming_the_option(string split, string expected)
    {
        string output = _dir.File("split.safetensors");
        var (code, text) = Invoke(Train(output, "--val-split", split, "--epochs", "1"));
        Assert.True(code == 1, text);
        Assert.Contains(expected, text, StringComparison.Ordinal);
        Assert.False(File.Exists(output));
    }

    // Found by hostile use: a folder with one class folder trained to loss 0.0000 and exited 0 (a model that always answers
    // that class); a file given as --dataset was reported as "no such folder exists".
    [Fact]
    public void Dataset_with_one_class_or_a_file_is_an_error_naming_it()
    {
        string one = Path.Combine(_dir.Path, "one");
        Directory.CreateDirectory(Path.Combine(one, "row"));
        foreach (string f in Directory.GetFiles(Path.Combine(Folder, "row"))) File.Copy(f, Path.Combine(one, "row", Path.GetFileName(f)));
        string output = _dir.File("one.safetensors");
        var (code, text) = Invoke(["train", "--model", "lenet5", "--dataset", one, "--output", output, "--epochs", "1", "--threads", "1"]);
        Assert.True(code == 1, text);
        Assert.Contains("has 1 class folder (row); a classifier needs at least 2", text, StringComparison.Ordinal);
        Assert.False(File.Exists(output));

        string file = Directory.GetFiles(Path.Combine(Folder, "row"))[0];
        (code, text) = Invoke(["train", "--dataset", file, "--output", output, "--epochs", "1"]);
        Assert.True(code == 1, text);
        Assert.Contains("is a file; expected mnist, fashion-mnist or an image folder", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Workflow_options_map_onto_the_job_and_the_loop()
    {
        var (job, errors) = TrainCommand.Parse("--model", "resnet8", "--dataset", "fashion-mnist", "--val-split", "0.1", "--augment", "standard",
            "--random-crop", "3", "--hflip", "--affine", "--normalize", "--optimizer", "sgd", "--momentum", "0.9", "--nesterov", "--weight-decay", "5e-4",
            "--scheduler", "multistep", "--milestones", "3,6", "--warmup-epochs", "1", "--clip-grad-norm", "1", "--early-stopping", "3",
            "--monitor", "val_accuracy", "--best-only", "--metrics-log", "m.jsonl", "--workers", "2", "--label-smoothing", "0.1", "--test-every", "3");
        Assert.Empty(errors);
        Assert.Equal(("resnet8", "fashion-mnist", 0.1f, true, 3, true, true, true), (job!.Model, job.Dataset, (float)job.ValidationSplit, job.StandardAugmentation,
            job.RandomCropPadding, job.HorizontalFlip, job.Affine, job.Normalize));
        Assert.Equal((SchedulerKind.MultiStep, 1), (job.Scheduler, job.WarmupEpochs));
        Assert.Equal([3, 6], job.Milestones);
        var t = job.Training;
        Assert.Equal((OptimizerKind.Sgd, true, 5e-4f, 1f, 3, MonitorMetric.ValAccuracy, true, "m.jsonl", 2),
            (t.Optimizer, t.Nesterov, t.WeightDecay, t.ClipGradNorm, t.EarlyStoppingPatience, t.Monitor, t.BestOnly, t.MetricsLogPath, t.NumWorkers));
        Assert.Equal("resnet8.safetensors", t.OutputPath);
        Assert.Equal((0.1f, 3), (t.LabelSmoothing, t.TestEvery));
        Assert.Equal((1, 1), (TrainCommand.Parse().Options!.Training.TestEvery, TrainCommand.Parse().Options!.Training.NumWorkers));
        Assert.Contains(TrainCommand.Parse("--test-every", "0").Errors, e => e.Contains("--test-every must be a positive integer", StringComparison.Ordinal));
        Assert.Equal(0f, TrainCommand.Parse().Options!.Training.LabelSmoothing);
        Assert.Contains(TrainCommand.Parse("--label-smoothing", "1").Errors,
            e => e.Contains("--label-smoothing must be a number in [0, 1), got '1'", StringComparison.Ordinal));
        Assert.Contains(TrainCommand.Parse("--label-smoothing", "-0.1").Errors, e => e.Contains("--label-smoothing", StringComparison.Ordinal));
        Assert.Contains(TrainCommand.Parse("--milestones", "6,3").Errors, e => e.Contains("--milestones", StringComparison.Ordinal));
        Assert.Contains(TrainCommand.Parse("--scheduler", "exponential").Errors, e => e.Contains("exponential", StringComparison.Ordinal));
    }

    [Fact]
    public void Standard_augmentation_flips_only_non_digit_data()
    {
        var mnist = TrainingJob.DataSource.Resolve(new TrainingJobOptions(), ModelZoo.Get("convnet"));
        var fashion = TrainingJob.DataSource.Resolve(new TrainingJobOptions { Dataset = "fashion-mnist" }, ModelZoo.Get("convnet"));
        var job = new TrainingJobOptions { StandardAugmentation = true };
        var digits = Assert.IsType<CnnSharp.Data.Transforms.RandomCrop>(TrainingJob.Augmentation(job, mnist, null));
        Assert.Equal((2, 2, 2, 2), digits.Padding);
        var clothes = Assert.IsType<CnnSharp.Data.Transforms.Compose>(TrainingJob.Augmentation(job, fashion, null));
        Assert.IsType<CnnSharp.Data.Transforms.RandomHorizontalFlip>(clothes.Transforms[1]);
        Assert.Null(TrainingJob.Augmentation(new TrainingJobOptions(), mnist, null));
    }
}
