using CnnSharp.Cli;
using CnnSharp.Cli.Commands;
using CnnSharp.Cli.Training;
using CnnSharp.Data;
using CnnSharp.Training;

namespace CnnSharp.Tests.Cli;

public sealed class CliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("cnnsharp-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static (int ExitCode, string Output) Invoke(params string[] args) => CliRunner.Invoke(200, args);

    [Fact]
    public void Train_defaults_are_the_seeds_settings()
    {
        var (options, errors) = TrainCommand.Parse();
        Assert.Empty(errors);
        Assert.Equal(new TrainingOptions { NumWorkers = 1 }, options!.Training); // one loader thread (TrainingJobOptions.Training)
        Assert.Equal(new TrainingJobOptions { Milestones = options.Milestones }, options);
        Assert.Empty(options.Milestones);
    }

    [Fact]
    public void Train_options_map_onto_training_options()
    {
        var (options, errors) = TrainCommand.Parse("--epochs", "3", "--batch-size", "64", "--lr", "0.05", "--optimizer", "sgd", "--momentum", "0.9",
            "--seed", "42", "--data-dir", "/data", "--output", "out.safetensors", "--threads", "2", "--limit", "1000", "--test-limit", "500");
        Assert.Empty(errors);
        Assert.Equal(new TrainingJobOptions
        {
            Training = new TrainingOptions
            {
                Epochs = 3, BatchSize = 64, LearningRate = 0.05f, Optimizer = OptimizerKind.Sgd, Momentum = 0.9f, Seed = 42, OutputPath = "out.safetensors",
                NumWorkers = 1,
            },
            DataDirectory = "/data", Threads = 2, Limit = 1000, TestLimit = 500, Milestones = options!.Milestones,
        }, options);
    }

    [Theory]
    [InlineData("--epochs", "0", "--epochs")]
    [InlineData("--lr", "-1", "--lr")]
    [InlineData("--optimizer", "adagrad", "adagrad")]
    [InlineData("--threads", "0", "--threads")]
    public void Train_rejects_bad_values_naming_the_option(string option, string value, string expected)
    {
        var (options, errors) = TrainCommand.Parse(option, value);
        Assert.Null(options);
        Assert.Contains(errors, e => e.Contains(expected, StringComparison.Ordinal));
        var (code, output) = Invoke("train", option, value);
        Assert.NotEqual(0, code);
        Assert.Contains(expected, output, StringComparison.Ordinal);
    }

    [Fact]
    public void Train_then_evaluate_in_process_on_a_slice_of_real_mnist()
    {
        string checkpoint = Path.Combine(_dir, "cli.safetensors");
        var (code, output) = Invoke("train", "--epochs", "1", "--limit", "500", "--test-limit", "200", "--lr", "0.003", "--output", checkpoint,
            "--data-dir", Mnist.DefaultDirectory);
        Assert.True(code == 0, output);
        Assert.Contains("epoch 1/1", output, StringComparison.Ordinal);
        Assert.Contains("test accuracy", output, StringComparison.Ordinal);
        Assert.Contains("images/s", output, StringComparison.Ordinal);
        Assert.Contains(checkpoint, output, StringComparison.Ordinal);
        Assert.True(File.Exists(checkpoint));

        (code, output) = Invoke("evaluate", "--checkpoint", checkpoint, "--data-dir", Mnist.DefaultDirectory, "--limit", "200");
        Assert.True(code == 0, output);
        Assert.Matches(@"\d+\.\d\d% \(\d+/200\)", output);
    }

    [Fact]
    public void Evaluate_of_a_missing_checkpoint_fails_with_one_clear_line()
    {
        string missing = Path.Combine(_dir, "nope.safetensors");
        var (code, output) = Invoke("evaluate", "--checkpoint", missing);
        Assert.Equal(1, code);
        Assert.Contains("error:", output, StringComparison.Ordinal);
        Assert.Contains("nope.safetensors", output, StringComparison.Ordinal);
    }
}
