using System.CommandLine;
using System.Globalization;
using CnnSharp.Cli.Rendering;
using CnnSharp.Training;
using Spectre.Console;

namespace CnnSharp.Cli.Commands;

/// <summary><c>cnnsharp train</c>: maps its options onto <see cref="TrainingOptions"/> and runs <see cref="Trainer.Run"/>.</summary>
internal static class TrainCommand
{
    public static Command Create(IAnsiConsole console)
    {
        var defaults = new TrainingOptions();
        var epochs = CommonOptions.Positive(new Option<int>("--epochs") { Description = "Passes over the training set", DefaultValueFactory = _ => defaults.Epochs });
        var batchSize = CommonOptions.Positive(new Option<int>("--batch-size") { Description = "Images per mini-batch", DefaultValueFactory = _ => defaults.BatchSize });
        var lr = new Option<float>("--lr") { Description = "Learning rate", DefaultValueFactory = _ => defaults.LearningRate };
        lr.Validators.Add(r =>
        {
            float v = r.GetValue(lr);
            if (!(v > 0f) || !float.IsFinite(v)) r.AddError($"--lr must be a positive number, got {v.ToString(CultureInfo.InvariantCulture)}");
        });
        var optimizer = new Option<string>("--optimizer") { Description = "adam or sgd", DefaultValueFactory = _ => "adam" };
        optimizer.AcceptOnlyFromAmong("adam", "sgd");
        var momentum = new Option<float>("--momentum") { Description = "SGD momentum (ignored by Adam)", DefaultValueFactory = _ => defaults.Momentum };
        momentum.Validators.Add(r =>
        {
            float v = r.GetValue(momentum);
            if (!(v >= 0f) || !float.IsFinite(v)) r.AddError($"--momentum must be >= 0, got {v.ToString(CultureInfo.InvariantCulture)}");
        });
        var seed = new Option<ulong>("--seed") { Description = "Seed of the weight initialisation and the shuffling", DefaultValueFactory = _ => defaults.Seed };
        var dataDir = CommonOptions.DataDirectory();
        var output = new Option<string>("--output", "-o") { Description = "Checkpoint written after every epoch (safetensors)", DefaultValueFactory = _ => defaults.OutputPath! };
        var threads = CommonOptions.Threads();
        var limit = CommonOptions.Positive(new Option<int?>("--limit") { Description = "Train on only the first N training images (quick runs)" });
        var testLimit = CommonOptions.Positive(new Option<int?>("--test-limit") { Description = "Evaluate on only the first N test images" });
        var resume = new Option<string?>("--resume") { Description = "Continue from this checkpoint (weights, optimizer state, epoch)" };

        var command = new Command("train", "Train the seed's ConvNet on MNIST and report per-epoch loss, test accuracy, time and throughput")
        {
            epochs, batchSize, lr, optimizer, momentum, seed, dataDir, output, threads, limit, testLimit, resume,
        };
        command.SetAction(parse =>
        {
            var options = new TrainingOptions
            {
                Epochs = parse.GetValue(epochs),
                BatchSize = parse.GetValue(batchSize),
                LearningRate = parse.GetValue(lr),
                Optimizer = parse.GetValue(optimizer) == "sgd" ? OptimizerKind.Sgd : OptimizerKind.Adam,
                Momentum = parse.GetValue(momentum),
                Seed = parse.GetValue(seed),
                DataDirectory = parse.GetValue(dataDir),
                OutputPath = parse.GetValue(output),
                Threads = parse.GetValue(threads),
                Limit = parse.GetValue(limit),
                TestLimit = parse.GetValue(testLimit),
                ResumeFrom = parse.GetValue(resume),
            };
            return Run(options, console);
        });
        return command;
    }

    /// <summary>Runs the training with progress on <paramref name="console"/>; returns the exit code.</summary>
    internal static int Run(TrainingOptions options, IAnsiConsole console)
    {
        var view = new TrainingView(console);
        view.Header(options);
        return ErrorReporting.Guard(console, () =>
        {
            var run = view.Show((epochs, batches, fetch) => Trainer.Run(options, epochs, batches, fetch));
            view.Summary(run);
            return 0;
        });
    }
}
