using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using CnnSharp.Cli.Rendering;
using CnnSharp.Cli.Training;
using CnnSharp.Models;
using CnnSharp.Training;
using Spectre.Console;

namespace CnnSharp.Cli.Commands;

/// <summary><c>cnnsharp train</c>: maps its options onto <see cref="TrainingJobOptions"/> and runs <see cref="TrainingJob.Run"/>.</summary>
internal sealed class TrainCommand
{
    private static readonly TrainingOptions s_defaults = new TrainingJobOptions().Training; // the CLI's (one loader worker)
    private static readonly TrainingJobOptions s_job = new();

    private readonly Option<string> _model = new("--model") { Description = $"Zoo model: {string.Join(", ", ModelZoo.Names)}", DefaultValueFactory = _ => s_job.Model };
    private readonly Option<string> _dataset = new("--dataset")
    {
        Description = "mnist, fashion-mnist, or an image folder (one sub-folder per class, or train/ and test/ folders of those)",
        DefaultValueFactory = _ => s_job.Dataset,
    };
    private readonly Option<int?> _imageSize = NumericOption.OptionalInt("--image-size", "Image folders: side the images are resized to (default: the model's)", max: 4096);
    private readonly Option<int?> _channels = NumericOption.OptionalInt("--channels", "Image folders: 1 (grayscale) or 3 (RGB) (default: the model's)", max: 3);
    private readonly Option<int> _epochs = NumericOption.Int("--epochs", "Passes over the training set", s_defaults.Epochs);
    private readonly Option<int> _batchSize = CommonOptions.BatchSize("Images per mini-batch", s_defaults.BatchSize);
    private readonly Option<float> _lr = NumericOption.Float("--lr", "Learning rate (the peak for --scheduler onecycle)", s_defaults.LearningRate);
    private readonly Option<string> _optimizer = new("--optimizer") { Description = "adam, adamw, sgd or rmsprop", DefaultValueFactory = _ => "adam" };
    private readonly Option<float> _momentum = NumericOption.Float("--momentum", "SGD and RMSprop momentum (ignored by Adam and AdamW)", s_defaults.Momentum, allowZero: true);
    private readonly Option<float?> _weightDecay = NumericOption.OptionalFloat("--weight-decay", "Weight decay (default 0; AdamW 0.01)", allowZero: true);
    private readonly Option<bool> _nesterov = new("--nesterov") { Description = "SGD with Nesterov momentum (needs --momentum > 0)" };
    private readonly Option<string> _scheduler = new("--scheduler")
    {
        Description = "Learning-rate schedule: none, step, multistep, cosine, onecycle (per batch) or plateau (on --monitor)",
        DefaultValueFactory = _ => "none",
    };
    private readonly Option<int> _warmup = NumericOption.Int("--warmup-epochs", "Linear warm-up from 0.1 x lr over this many epochs (onecycle: its rising phase)", 0, min: 0);
    private readonly Option<int> _stepSize = NumericOption.Int("--step-size", "step: epochs between decays", s_job.StepSize);
    private readonly Option<int[]> _milestones = Milestones();
    private readonly Option<float> _gamma = NumericOption.Float("--gamma", "step, multistep, plateau: decay factor", (float)s_job.Gamma);
    private readonly Option<float> _minLr = NumericOption.Float("--min-lr", "cosine, plateau: lowest learning rate", 0f, allowZero: true);
    private readonly Option<int> _plateauPatience = NumericOption.Int("--plateau-patience", "plateau: epochs without improvement before a decay", s_job.PlateauPatience, min: 0);
    private readonly Option<float> _labelSmoothing = NumericOption.Float("--label-smoothing",
        "Label smoothing of the training loss, in [0, 1): targets become (1 - e) one-hot + e / classes (evaluation losses stay plain)", 0f, allowZero: true, below: 1f);
    private readonly Option<float?> _clip = NumericOption.OptionalFloat("--clip-grad-norm", "Clip the gradients' global 2-norm to this value");
    private readonly Option<ulong> _seed = NumericOption.UInt64("--seed", "Seed of the weights, the shuffling, the augmentation and the validation split", s_defaults.Seed);
    private readonly Option<string?> _dataDir = CommonOptions.DataDirectory();
    private readonly Option<float> _valSplit = NumericOption.Float("--val-split", "Fraction of the training images held out for validation, in [0, 1)", 0f, allowZero: true);
    private readonly Option<string> _augment = new("--augment") { Description = "none, or standard (random crop; plus horizontal flip except for MNIST)", DefaultValueFactory = _ => "none" };
    private readonly Option<int?> _randomCrop = NumericOption.OptionalInt("--random-crop", "Random crop after zero padding of this many pixels", min: 0, max: 64);
    private readonly Option<bool> _hflip = new("--hflip") { Description = "Random horizontal flip" };
    private readonly Option<bool> _affine = new("--affine") { Description = "Random affine: rotate up to 10 degrees, shift up to 10%, scale 0.9-1.1" };
    private readonly Option<bool> _normalize = new("--normalize") { Description = "Normalise each channel by the training data's mean and standard deviation" };
    private readonly Option<int?> _earlyStopping = NumericOption.OptionalInt("--early-stopping", "Stop after this many epochs without improvement of --monitor (needs --val-split)");
    private readonly Option<float> _minDelta = NumericOption.Float("--min-delta", "Smallest change of --monitor that counts as an improvement", 0f, allowZero: true);
    private readonly Option<string> _monitor = new("--monitor") { Description = "val_loss or val_accuracy", DefaultValueFactory = _ => "val_loss" };
    private readonly Option<bool> _bestOnly = new("--best-only") { Description = "Write the checkpoint only when --monitor improves (needs --val-split)" };
    private readonly Option<string?> _metricsLog = new("--metrics-log") { Description = "Append one JSON object per epoch to this file (JSON Lines)" };
    private readonly Option<bool> _json = new("--json")
    {
        Description = "Print one JSON object per epoch on standard output, then {\"epochs_run\":N,\"total_seconds\":S}, nothing else (errors on standard error)",
    };
    // Default 1: one thread prepares the next batch while the step runs. The batches (and so the results) are the same for
    // any count (transforms are seeded by seed, epoch and index); on the 2-core machine one worker made a ResNet-20
    // Fashion-MNIST epoch 12-24% faster than loading on the training thread (docs/training.md).
    private readonly Option<int> _workers = NumericOption.Int("--workers", "Threads loading and augmenting training batches (0: the training thread)", s_defaults.NumWorkers, min: 0, max: 64);

    private readonly Option<string?> _output = new("--output", "-o") { Description = "Checkpoint written after every epoch (safetensors; default: <model>.safetensors)" };

    private readonly Option<int?> _threads = CommonOptions.Threads();
    // Bounded by the data set's size when the job resolves it (TrainingJob.DataSource.CheckLimits), not by MNIST's here.
    private readonly Option<int?> _limit = NumericOption.OptionalInt("--limit", "Train on only the first N training images of the data set (quick runs; at most its size)");
    private readonly Option<int> _testEvery = NumericOption.Int("--test-every",
        "Evaluate the test set every N epochs and after the last one (others show -); the validation split is still evaluated every epoch", 1);
    private readonly Option<int?> _testLimit = NumericOption.OptionalInt("--test-limit", "Evaluate on only the first N test images of the data set (at most its size)");
    private readonly Option<bool> _generic = new("--generic") { Description = "Use the generic autograd path instead of the compiled executor (slower; for comparison)" };
    private readonly Option<string?> _resume = new("--resume") { Description = "Continue from this checkpoint (weights, optimizer, schedule and early-stopping state, epoch)" };

    private readonly Option<bool> _allowChanged = new("--allow-changed-hyperparameters")
    {
        Description = "With --resume: accept a model, data set, --seed, --batch-size, --lr, --optimizer, --momentum, --weight-decay, --label-smoothing or --scheduler other than the checkpoint's",
    };

    private TrainCommand()
    {
        _model.AcceptOnlyFromAmong([.. ModelZoo.Names]);
        _optimizer.AcceptOnlyFromAmong("adam", "adamw", "sgd", "rmsprop");
        _scheduler.AcceptOnlyFromAmong("none", "step", "multistep", "cosine", "onecycle", "plateau");
        _augment.AcceptOnlyFromAmong("none", "standard");
        _monitor.AcceptOnlyFromAmong("val_loss", "val_accuracy");
    }

    private static Option<int[]> Milestones()
    {
        var option = new Option<int[]>("--milestones") { Description = "multistep: comma-separated epochs at which the rate decays, e.g. 30,60", DefaultValueFactory = _ => [] };
        option.CustomParser = result =>
        {
            string text = result.Tokens.Count == 0 ? "" : result.Tokens[^1].Value;
            var parts = text.Split(',', StringSplitOptions.TrimEntries);
            var values = new int[parts.Length];
            for (int i = 0; i < parts.Length; i++)
            {
                if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out values[i]) || values[i] < 1
                    || (i > 0 && values[i] <= values[i - 1]))
                {
                    result.AddError($"--milestones: '{text}' is not an increasing list of epochs >= 1 (e.g. 30,60)");
                    return [];
                }
            }
            return values;
        };
        return option;
    }

    public static Command Create(IAnsiConsole console)
    {
        var c = new TrainCommand();
        var command = c.Build();
        command.SetAction(parse => Run(c.Bind(parse), parse.GetValue(c._json), console));
        return command;
    }

    private Command Build() => new("train", "Train a zoo model on MNIST, Fashion-MNIST or your own image folder; report per-epoch loss, accuracy, time and throughput")
    {
        _model, _dataset, _imageSize, _channels, _epochs, _batchSize, _lr, _optimizer, _momentum, _weightDecay, _nesterov, _scheduler, _warmup, _stepSize,
        _milestones, _gamma, _minLr, _plateauPatience, _labelSmoothing, _clip, _seed, _dataDir, _valSplit, _augment, _randomCrop, _hflip, _affine, _normalize,
        _earlyStopping, _minDelta, _monitor, _bestOnly, _metricsLog, _json, _workers, _output, _threads, _limit, _testLimit, _testEvery, _resume, _allowChanged, _generic,
    };

    /// <summary>The job the parsed command line asks for.</summary>
    internal TrainingJobOptions Bind(ParseResult parse)
    {
        // The zoo's spelling of the name; an unknown one (which the parser normally refuses) is left for the job to report.
        string given = parse.GetValue(_model) ?? s_job.Model;
        string model = ModelZoo.Names.FirstOrDefault(n => string.Equals(n, given, StringComparison.OrdinalIgnoreCase)) ?? given;
        return new()
        {
            Training = new()
            {
                Epochs = parse.GetValue(_epochs),
                BatchSize = parse.GetValue(_batchSize),
                LearningRate = parse.GetValue(_lr),
                Optimizer = parse.GetValue(_optimizer) switch
                {
                    "sgd" => OptimizerKind.Sgd,
                    "adamw" => OptimizerKind.AdamW,
                    "rmsprop" => OptimizerKind.RmsProp,
                    _ => OptimizerKind.Adam,
                },
                Momentum = parse.GetValue(_momentum),
                WeightDecay = parse.GetValue(_weightDecay),
                Nesterov = parse.GetValue(_nesterov),
                LabelSmoothing = parse.GetValue(_labelSmoothing),
                TestEvery = parse.GetValue(_testEvery),
                ClipGradNorm = parse.GetValue(_clip),
                Seed = parse.GetValue(_seed),
                OutputPath = parse.GetValue(_output) ?? $"{model}.safetensors",
                AllowChangedHyperparameters = parse.GetValue(_allowChanged),
                FastPath = !parse.GetValue(_generic),
                EarlyStoppingPatience = parse.GetValue(_earlyStopping),
                MinDelta = parse.GetValue(_minDelta),
                Monitor = parse.GetValue(_monitor) == "val_accuracy" ? MonitorMetric.ValAccuracy : MonitorMetric.ValLoss,
                BestOnly = parse.GetValue(_bestOnly),
                MetricsLogPath = parse.GetValue(_metricsLog),
                NumWorkers = parse.GetValue(_workers),
            },
            Model = model,
            Dataset = parse.GetValue(_dataset)!,
            ImageSize = parse.GetValue(_imageSize),
            Channels = parse.GetValue(_channels),
            DataDirectory = parse.GetValue(_dataDir),
            Limit = parse.GetValue(_limit),
            TestLimit = parse.GetValue(_testLimit),
            ValidationSplit = AsDecimal(parse.GetValue(_valSplit)),
            StandardAugmentation = parse.GetValue(_augment) == "standard",
            RandomCropPadding = parse.GetValue(_randomCrop),
            HorizontalFlip = parse.GetValue(_hflip),
            Affine = parse.GetValue(_affine),
            Normalize = parse.GetValue(_normalize),
            Scheduler = parse.GetValue(_scheduler) switch
            {
                "step" => SchedulerKind.Step,
                "multistep" => SchedulerKind.MultiStep,
                "cosine" => SchedulerKind.Cosine,
                "onecycle" => SchedulerKind.OneCycle,
                "plateau" => SchedulerKind.Plateau,
                _ => SchedulerKind.None,
            },
            WarmupEpochs = parse.GetValue(_warmup),
            StepSize = parse.GetValue(_stepSize),
            Milestones = parse.GetValue(_milestones) ?? [],
            Gamma = AsDecimal(parse.GetValue(_gamma)),
            MinLr = AsDecimal(parse.GetValue(_minLr)),
            PlateauPatience = parse.GetValue(_plateauPatience),
            Threads = parse.GetValue(_threads),
            ResumeFrom = parse.GetValue(_resume),
        };
    }

    // The double the user wrote (0.1, not 0.100000001490116 from the float the option parsed), as a Python float would be.
    private static double AsDecimal(float value) =>
        double.Parse(value.ToString("R", CultureInfo.InvariantCulture), NumberStyles.Float, CultureInfo.InvariantCulture);

    /// <summary>Parses a <c>train</c> command line into settings without running it (for tests).</summary>
    internal static (TrainingJobOptions? Options, IReadOnlyList<string> Errors) Parse(params string[] args)
    {
        var c = new TrainCommand();
        var parse = c.Build().Parse(args, ResponseFiles.Configuration);
        var errors = parse.Errors.Select(e => e.Message).ToList();
        return (errors.Count == 0 ? c.Bind(parse) : null, errors);
    }

    /// <summary>Exit code of a run stopped because the loss or the weights became NaN or infinite.</summary>
    internal const int DivergedExitCode = 3;

    /// <summary>Runs the training with progress on <paramref name="console"/>; returns the exit code.</summary>
    /// <remarks>
    /// <para>Exit codes: 0 done (also when early stopping ended it); 1 an error (options, files, data, output locked, disk
    /// full, a resume that contradicts the checkpoint); 3 diverged (the last finite checkpoint is kept); 130 interrupted by
    /// SIGINT (Ctrl+C), 143 by SIGTERM, both between batches and saying which checkpoint is kept. A second signal ends the
    /// process at once, which the atomic checkpoint writes make safe.</para>
    /// <para>With <paramref name="json"/>, standard output receives exactly one <see cref="MetricsLog"/> object per epoch,
    /// then, when the run ends normally, one object <c>{"epochs_run":N,"total_seconds":S}</c> (the command's wall time from
    /// the start of this method, data loading included; it has no <c>epoch</c> key), and nothing else; messages and
    /// errors go to standard error. Without it the summary ends with the same total time.</para>
    /// </remarks>
    internal static int Run(TrainingJobOptions job, bool json, IAnsiConsole console)
    {
        // Signals are handled from before the header, so whoever sees the header can interrupt cleanly.
        using var interrupt = new TrainingInterrupt();
        var messages = json ? ConsoleSetup.ForStandardError() : console;
        var view = new TrainingView(console);
        var options = job.Training;
        EpochReport? lastSaved = null;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        return ErrorReporting.Guard(messages, () =>
        {
            try
            {
                // Resolved first, so the header counts the images of this data set (a folder is listed, nothing decoded).
                var source = TrainingJob.Resolve(job);
                if (!json) view.Header(job, source);
                TrainingRun run;
                if (json)
                {
                    var stdout = console.Profile.Out.Writer;
                    run = TrainingJob.Run(job, new SyncProgress<EpochReport>(r =>
                    {
                        if (r.CheckpointPath is not null) lastSaved = r;
                        stdout.WriteLine(MetricsLog.Format(r));
                        stdout.Flush();
                    }), null, null, source, interrupt.Token);
                    Tables.WriteJson(console, w =>
                    {
                        w.WriteNumber("epochs_run", run.Reports.Count);
                        w.WriteNumber("total_seconds", Math.Round(clock.Elapsed.TotalSeconds, 3));
                    });
                }
                else
                {
                    run = view.Show((epochs, batches, fetch) => TrainingJob.Run(job, new SyncProgress<EpochReport>(r =>
                    {
                        if (r.CheckpointPath is not null) lastSaved = r;
                        epochs.Report(r);
                    }), batches, fetch, source, interrupt.Token));
                    view.Summary(run, options, clock.Elapsed);
                }
                return 0;
            }
            catch (OperationCanceledException) when (interrupt.Signal is PosixSignal signal)
            {
                messages.MarkupLine($"[yellow]interrupted[/] ({(signal == PosixSignal.SIGTERM ? "SIGTERM" : "SIGINT")}): {Markup.Escape(Kept(options, lastSaved))}");
                return signal == PosixSignal.SIGTERM ? 143 : 130;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException && lastSaved is not null)
            {
                // A save failed after earlier ones worked (e.g. the disk filled up): the earlier checkpoint is intact.
                messages.MarkupLine($"[red]error:[/] {Markup.Escape($"{e.Message}; {Kept(options, lastSaved)}")}");
                return 1;
            }
            catch (TrainingDivergedException e)
            {
                messages.MarkupLine($"[red]error:[/] {Markup.Escape(e.Message)}");
                return DivergedExitCode;
            }
            catch (HyperparameterMismatchException e)
            {
                string option = OptionName(e.Setting);
                messages.MarkupLine($"[red]error:[/] {Markup.Escape(
                    $"{option} {OptionValue(e.RequestedValue)} differs from the {OptionValue(e.CheckpointValue)} that {e.Checkpoint} was trained with; " +
                    $"resume with {option} {OptionValue(e.CheckpointValue)}, or pass --allow-changed-hyperparameters to change it on purpose")}");
                return 1;
            }
        });
    }

    // What an interrupted run leaves: the checkpoint of its last saved epoch, or the file that was there before.
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
        nameof(TrainingOptions.WeightDecay) => "--weight-decay",
        nameof(TrainingOptions.LabelSmoothing) => "--label-smoothing",
        nameof(TrainingOptions.Nesterov) => "--nesterov",
        nameof(TrainingOptions.Monitor) => "--monitor",
        nameof(Trainer.Schedule) => "--scheduler",
        "model" => "--model",
        "dataset" or "classes" or "num_classes" => "--dataset",
        "in_channels" => "--channels",
        "image_size" => "--image-size",
        "normalize_mean" or "normalize_std" => "--normalize",
        _ => setting,
    };

    // The checkpoint records the optimizer's class name (Adam, Sgd, AdamW, RmsProp); the option takes it in lower case.
    private static string OptionValue(string value) => value is "Adam" or "Sgd" or "AdamW" or "RmsProp" ? value.ToLowerInvariant() : value;
}
