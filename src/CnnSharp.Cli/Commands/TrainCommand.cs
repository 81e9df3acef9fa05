using System.CommandLine;
using CnnSharp.Cli.Rendering;
using CnnSharp.Training;
using Spectre.Console;

namespace CnnSharp.Cli.Commands;

/// <summary><c>cnnsharp train</c>: maps its options onto <see cref="TrainingOptions"/> and runs <see cref="Trainer.Run"/>.</summary>
internal sealed class TrainCommand
{
    private static readonly TrainingOptions s_defaults = new();

    private readonly Option<int> _epochs = NumericOption.Int("--epochs", "Passes over the training set", s_defaults.Epochs);
    private readonly Option<int> _batchSize = CommonOptions.BatchSize("Images per mini-batch", s_defaults.BatchSize);
    private readonly Option<float> _lr = NumericOption.Float("--lr", "Learning rate", s_defaults.LearningRate);
    private readonly Option<string> _optimizer = new("--optimizer") { Description = "adam or sgd", DefaultValueFactory = _ => "adam" };
    private readonly Option<float> _momentum = NumericOption.Float("--momentum", "SGD momentum (ignored by Adam)", s_defaults.Momentum, allowZero: true);
    private readonly Option<ulong> _seed = NumericOption.UInt64("--seed", "Seed of the weight initialisation and the shuffling", s_defaults.Seed);
    private readonly Option<string?> _dataDir = CommonOptions.DataDirectory();

    private readonly Option<string> _output = new("--output", "-o")
    {
        Description = "Checkpoint written after every epoch (safetensors)",
        DefaultValueFactory = _ => s_defaults.OutputPath!,
    };

    private readonly Option<int?> _threads = CommonOptions.Threads();
    private readonly Option<int?> _limit = CommonOptions.Limit("--limit", "Train on only the first N training images (quick runs)", CommonOptions.TrainImages, "MNIST training set");
    private readonly Option<int?> _testLimit = CommonOptions.Limit("--test-limit", "Evaluate on only the first N test images", CommonOptions.TestImages, "MNIST test set");
    private readonly Option<bool> _generic = new("--generic") { Description = "Use the generic autograd path instead of the fused ConvNet engine (slower; for comparison)" };
    private readonly Option<string?> _resume = new("--resume") { Description = "Continue from this checkpoint (weights, optimizer state, epoch)" };

    private TrainCommand() => _optimizer.AcceptOnlyFromAmong("adam", "sgd");

    public static Command Create(IAnsiConsole console)
    {
        var c = new TrainCommand();
        var command = c.Build();
        command.SetAction(parse => Run(c.Bind(parse), console));
        return command;
    }

    private Command Build() => new("train", "Train the seed's ConvNet on MNIST and report per-epoch loss, test accuracy, time and throughput")
    {
        _epochs, _batchSize, _lr, _optimizer, _momentum, _seed, _dataDir, _output, _threads, _limit, _testLimit, _resume, _generic,
    };

    /// <summary>The training settings the parsed command line asks for.</summary>
    internal TrainingOptions Bind(ParseResult parse) => new()
    {
        Epochs = parse.GetValue(_epochs),
        BatchSize = parse.GetValue(_batchSize),
        LearningRate = parse.GetValue(_lr),
        Optimizer = parse.GetValue(_optimizer) == "sgd" ? OptimizerKind.Sgd : OptimizerKind.Adam,
        Momentum = parse.GetValue(_momentum),
        Seed = parse.GetValue(_seed),
        DataDirectory = parse.GetValue(_dataDir),
        OutputPath = parse.GetValue(_output),
        Threads = parse.GetValue(_threads),
        Limit = parse.GetValue(_limit),
        TestLimit = parse.GetValue(_testLimit),
        ResumeFrom = parse.GetValue(_resume),
        FastPath = !parse.GetValue(_generic),
    };

    /// <summary>Parses a <c>train</c> command line into settings without running it (for tests).</summary>
    internal static (TrainingOptions? Options, IReadOnlyList<string> Errors) Parse(params string[] args)
    {
        var c = new TrainCommand();
        var parse = c.Build().Parse(args);
        var errors = parse.Errors.Select(e => e.Message).ToList();
        return (errors.Count == 0 ? c.Bind(parse) : null, errors);
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
