using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using CnnSharp.Cli.Rendering;
using CnnSharp.Cli.Training;
using CnnSharp.Training;
using Spectre.Console;

namespace CnnSharp.Cli.Commands;

/// <summary><c>cnnsharp train</c>: maps its options onto <see cref="TrainingOptions"/> and runs <see cref="TrainingJob.Run"/>.</summary>
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

    private readonly Option<bool> _allowChanged = new("--allow-changed-hyperparameters")
    {
        Description = "With --resume: accept a --seed, --batch-size, --lr, --optimizer or --momentum other than the checkpoint's",
    };

    private TrainCommand() => _optimizer.AcceptOnlyFromAmong("adam", "sgd");

    public static Command Create(IAnsiConsole console)
    {
        var c = new TrainCommand();
        var command = c.Build();
        command.SetAction(parse => Run(c.Bind(parse), console));
        return command;
    }

    private Command Build() => new("train", "Train the tutorial's ConvNet on MNIST and report per-epoch loss, test accuracy, time and throughput")
    {
        _epochs, _batchSize, _lr, _optimizer, _momentum, _seed, _dataDir, _output, _threads, _limit, _testLimit, _resume, _allowChanged, _generic,
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
        AllowChangedHyperparameters = parse.GetValue(_allowChanged),
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

    /// <summary>Exit code of a run stopped because the loss or the weights became NaN or infinite.</summary>
    internal const int DivergedExitCode = 3;

    /// <summary>Runs the training with progress on <paramref name="console"/>; returns the exit code.</summary>
    /// <remarks>
    /// Exit codes: 0 done; 1 an error (options, files, data, output locked, disk full); 3 diverged (the last finite checkpoint
    /// is kept); 130 interrupted by SIGINT (Ctrl+C), 143 by SIGTERM, both between batches and saying which checkpoint is
    /// kept. A second signal ends the process at once, which the atomic checkpoint writes make safe.
    /// </remarks>
    internal static int Run(TrainingOptions options, IAnsiConsole console)
    {
        // Signals are handled from before the header, so whoever sees the header can interrupt cleanly.
        using var interrupt = new TrainingInterrupt();
        var view = new TrainingView(console);
        view.Header(options);
        EpochReport? lastSaved = null;
        return ErrorReporting.Guard(console, () =>
        {
            try
            {
                var run = view.Show((epochs, batches, fetch) => TrainingJob.Run(options, new SyncProgress<EpochReport>(r =>
                {
                    if (r.CheckpointPath is not null) lastSaved = r;
                    epochs.Report(r);
                }), batches, fetch, interrupt.Token));
                view.Summary(run);
                return 0;
            }
            catch (OperationCanceledException) when (interrupt.Signal is PosixSignal signal)
            {
                console.MarkupLine($"[yellow]interrupted[/] ({(signal == PosixSignal.SIGTERM ? "SIGTERM" : "SIGINT")}): {Markup.Escape(Kept(options, lastSaved))}");
                return signal == PosixSignal.SIGTERM ? 143 : 130;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException && lastSaved is not null)
            {
                // A save failed after earlier ones worked (e.g. the disk filled up): the earlier checkpoint is intact.
                console.MarkupLine($"[red]error:[/] {Markup.Escape($"{e.Message}; {Kept(options, lastSaved)}")}");
                return 1;
            }
            catch (TrainingDivergedException e)
            {
                console.MarkupLine($"[red]error:[/] {Markup.Escape(e.Message)}");
                return DivergedExitCode;
            }
            catch (HyperparameterMismatchException e)
            {
                string option = OptionName(e.Setting);
                console.MarkupLine($"[red]error:[/] {Markup.Escape(
                    $"{option} {OptionValue(e.RequestedValue)} differs from the {OptionValue(e.CheckpointValue)} that {e.Checkpoint} was trained with; " +
                    $"resume with {option} {OptionValue(e.CheckpointValue)}, or pass --allow-changed-hyperparameters to change it on purpose")}");
                return 1;
            }
        });
    }

    // What an interrupted run leaves: the checkpoint of its last finished epoch, or the file that was there before.
    private static string Kept(TrainingOptions options, EpochReport? lastSaved)
    {
        if (lastSaved?.CheckpointPath is string path)
            return $"kept checkpoint {path} (epoch {lastSaved.Epoch.ToString(CultureInfo.InvariantCulture)}); continue with --resume {path}";
        if (options.OutputPath is null) return "no checkpoint is written by this run (no --output)";
        string untouched = File.Exists(options.OutputPath) ? $"; {options.OutputPath} is unchanged" : "";
        return $"no checkpoint was written (no epoch finished){untouched}";
    }

    private static string OptionName(string setting) => setting switch
    {
        nameof(TrainingOptions.Seed) => "--seed",
        nameof(TrainingOptions.BatchSize) => "--batch-size",
        nameof(TrainingOptions.LearningRate) => "--lr",
        nameof(TrainingOptions.Momentum) => "--momentum",
        nameof(TrainingOptions.Optimizer) => "--optimizer",
        _ => setting,
    };

    // The checkpoint records the optimizer's class name (Adam, Sgd); the option takes it in lower case.
    private static string OptionValue(string value) => value is "Adam" or "Sgd" ? value.ToLowerInvariant() : value;
}
