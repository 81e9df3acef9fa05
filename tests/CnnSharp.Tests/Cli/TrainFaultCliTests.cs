using System.Globalization;
using CnnSharp.Data;
using CnnSharp.IO;
using CnnSharp.Models;
using CnnSharp.Tests.TestUtilities;
using CnnSharp.Tests.Training;
using CnnSharp.Training;

namespace CnnSharp.Tests.Cli;

/// <summary><c>cnnsharp train</c> in-process: divergence, output problems and resuming with changed settings, as the user sees them.</summary>
public sealed class TrainFaultCliTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static (int ExitCode, string Output) Invoke(params string[] args) => CliRunner.Invoke(200, args);

    private static string[] Train(string output, params string[] extra) =>
    [
        "train", "--limit", "200", "--test-limit", "100", "--batch-size", "20", "--output", output, "--data-dir", Mnist.DefaultDirectory, .. extra,
    ];

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_diverging_run_exits_3_and_keeps_only_finite_checkpoints(bool generic)
    {
        string output = _dir.File("run.safetensors");
        string[] args = Train(output, "--epochs", "4", "--optimizer", "sgd", "--lr", "1e6", "--momentum", "0.9");

        var (code, text) = Invoke(generic ? [.. args, "--generic"] : args);

        Assert.True(code == 3, text);
        Assert.Contains("error: training diverged in epoch", text, StringComparison.Ordinal);
        if (File.Exists(output))
        {
            var model = new ConvNet(generator: new Generator(1));
            Checkpoint.Load(output, model);
            Assert.Null(Trainer.FirstNonFinite(model.StateDict()));
            Assert.Contains($"the last finite checkpoint is kept: {output}", text, StringComparison.Ordinal);
        }
        else
        {
            Assert.Contains("no checkpoint was written", text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_read_only_output_directory_is_an_error_before_any_training()
    {
        using var readOnly = FileFaults.ReadOnlyDirectory(_dir.File("ro"));
        string output = Path.Combine(readOnly.Path, "run.safetensors");

        var (code, text) = Invoke(Train(output, "--epochs", "1"));

        Assert.Equal(1, code);
        Assert.Contains($"Access to the path '{output}' is denied", text, StringComparison.Ordinal);
        Assert.DoesNotContain(".tmp", text, StringComparison.Ordinal);
        Assert.DoesNotContain("epoch 1/1", text, StringComparison.Ordinal);
    }

    [Fact]
    public void A_full_disk_is_an_error_before_any_training()
    {
        string output = _dir.File("run.safetensors");
        using var full = FileFaults.DiskFull(failOnOpen: 1, afterBytes: 0);

        var (code, text) = Invoke(Train(output, "--epochs", "1"));

        Assert.Equal(1, code);
        Assert.Contains($"No space left on device : '{output}'", text, StringComparison.Ordinal);
        Assert.DoesNotContain("epoch 1/1", text, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(_dir.Path));
    }

    [Fact]
    public void A_disk_that_fills_during_the_run_names_the_checkpoint_kept()
    {
        string output = _dir.File("run.safetensors");
        // Opens: 1 the probe, 2 epoch 1's checkpoint, 3 epoch 2's.
        using var full = FileFaults.DiskFull(failOnOpen: 3, afterBytes: 5000);

        var (code, text) = Invoke(Train(output, "--epochs", "3"));

        Assert.Equal(1, code);
        Assert.Contains($"No space left on device : '{output}'; kept checkpoint {output} (epoch 1)", text, StringComparison.Ordinal);
        Assert.Equal("1", SafeTensors.Read(output).Metadata["epoch"]);
        Assert.Empty(Directory.GetFiles(_dir.Path, "*.tmp"));
    }

    // A checkpoint of one epoch on synthetic digits: seed 5, batch 20, Adam or SGD (momentum 0.9), lr 0.01.
    private string FirstCheckpoint(OptimizerKind optimizer)
    {
        var options = new TrainingOptions
        {
            Epochs = 1, BatchSize = 20, Seed = 5, LearningRate = 0.01f, Optimizer = optimizer, Momentum = 0.9f, OutputPath = _dir.File("first.safetensors"),
        };
        var model = new ConvNet(generator: new Generator(options.Seed));
        new Trainer(model, Trainer.CreateOptimizer(model, options), options).Fit(SyntheticDigits.Create(100, seed: 1), null);
        return options.OutputPath;
    }

    [Theory]
    [InlineData("adam", "--seed", "6", "--seed 6 differs from the 5 that")]
    [InlineData("adam", "--batch-size", "25", "--batch-size 25 differs from the 20 that")]
    [InlineData("adam", "--lr", "0.001", "--lr 0.001 differs from the 0.01 that")]
    [InlineData("adam", "--optimizer", "sgd", "--optimizer sgd differs from the adam that")]
    [InlineData("sgd", "--momentum", "0.5", "--momentum 0.5 differs from the 0.9 that")]
    public void Resuming_with_a_changed_setting_is_an_error_naming_the_option_and_both_values(string optimizer, string option, string value, string expected)
    {
        string checkpoint = FirstCheckpoint(optimizer == "sgd" ? OptimizerKind.Sgd : OptimizerKind.Adam);
        string output = _dir.File("resumed.safetensors");
        string[] same = ["--seed", "5", "--batch-size", "20", "--lr", "0.01", "--optimizer", optimizer, "--momentum", "0.9"];
        int at = Array.IndexOf(same, option);
        same[at + 1] = value;

        var (code, text) = Invoke(["train", "--epochs", "1", "--resume", checkpoint, "--output", output, .. same]);

        Assert.Equal(1, code);
        Assert.Contains(expected, text, StringComparison.Ordinal);
        Assert.Contains($"{checkpoint} was trained with", text, StringComparison.Ordinal);
        Assert.Contains("--allow-changed-hyperparameters", text, StringComparison.Ordinal);
        Assert.False(File.Exists(output));
    }

    [Fact]
    public void Allow_changed_hyperparameters_lets_a_resume_change_the_learning_rate()
    {
        string checkpoint = FirstCheckpoint(OptimizerKind.Adam);
        string output = _dir.File("resumed.safetensors");

        var (code, text) = Invoke([.. Train(output, "--epochs", "2", "--resume", checkpoint, "--seed", "5", "--lr", "0.001", "--allow-changed-hyperparameters")]);

        Assert.True(code == 0, text);
        Assert.Equal("0.001", SafeTensors.Read(output).Metadata["lr"]);
        Assert.Equal(2, int.Parse(SafeTensors.Read(output).Metadata["epoch"], CultureInfo.InvariantCulture));
    }
}
