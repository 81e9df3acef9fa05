using System.Diagnostics;
using System.Globalization;
using CnnSharp.Compile;
using CnnSharp.Data;
using CnnSharp.Data.Transforms;
using CnnSharp.Functional;
using CnnSharp.IO;
using CnnSharp.Modules;
using CnnSharp.Optimizers;
using CnnSharp.Optimizers.Schedulers;

namespace CnnSharp.Training;

/// <summary>
/// The training loop: shuffled (optionally augmented) mini-batches, forward, cross-entropy, backward, optional gradient
/// clipping, optimizer step, optional learning-rate schedule; after each epoch an evaluation on the validation and test
/// sets, early stopping, an atomic checkpoint (every epoch or only improving ones), a report and a metrics-log line.
/// </summary>
/// <example>
/// <code>
/// var model = ModelZoo.Create("lenet5", new ZooOptions { Generator = new Generator(0) });
/// var options = new TrainingOptions { Epochs = 20, EarlyStoppingPatience = 3, BestOnly = true, MetricsLogPath = "metrics.jsonl" };
/// var trainer = new Trainer(model, Trainer.CreateOptimizer(model, options), options);
/// var (train, val) = DatasetSplit.TrainValidation(mnist.Train, 0.1, seed: 0);
/// trainer.Fit(train, val, mnist.Test, new Progress&lt;EpochReport&gt;(r => Console.WriteLine(MetricsLog.Format(r))));
/// </code>
/// </example>
public sealed class Trainer
{
    /// <summary>Creates a trainer for <paramref name="model"/> updated by <paramref name="optimizer"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public Trainer(Module model, Optimizer optimizer, TrainingOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Model = model;
        Optimizer = optimizer;
        Options = options;
        _compiled = options.FastPath ? model.Compile() : null;
        _monitor = new MonitorTracker(options.Monitor, options.MinDelta);
    }

    // Every model, the tutorial's ConvNet included, trains on the compiled executor (planned buffers, fused conv chains);
    // null on the eager path.
    private readonly CompiledModel? _compiled;

    // Early-stopping and best-checkpoint state, saved in every checkpoint and restored by Resume.
    private readonly MonitorTracker _monitor;

    // The checkpoint Resume loaded, and the output opened by OpenOutput.
    private (string Path, int Epoch)? _resumed;
    private TrainingOutput? _output;

    /// <summary>Whether steps run on the compiled executor (<see cref="TrainingOptions.FastPath"/>; <see cref="Module.Compile"/>)
    /// rather than the eager autograd path.</summary>
    public bool UsesFastPath => _compiled is not null;

    /// <summary>The model being trained.</summary>
    public Module Model { get; }

    /// <summary>The optimizer updating <see cref="Model"/>'s parameters.</summary>
    public Optimizer Optimizer { get; }

    /// <summary>The run's settings.</summary>
    public TrainingOptions Options { get; }

    /// <summary>Receives a report after every training step (optional).</summary>
    public IProgress<BatchReport>? BatchProgress { get; init; }

    /// <summary>The learning-rate schedule, stepped per epoch or per batch (optional); it must schedule <see cref="Optimizer"/>.</summary>
    public LrSchedule? Schedule { get; init; }

    /// <summary>Applied to every training sample by the data loader (augmentation, normalisation), seeded by (seed, epoch, sample); null: none.</summary>
    public ITransform? TrainTransform { get; init; }

    /// <summary>A deterministic transform applied to validation and test samples (e.g. the same <c>Normalize</c> (CnnSharp.Data) as in <see cref="TrainTransform"/>); null: none.</summary>
    public ITransform? EvaluationTransform { get; init; }

    /// <summary>
    /// Extra strings saved in every checkpoint's metadata (e.g. the model's zoo name under <c>model</c>, <c>dataset</c>,
    /// <c>classes</c>), and checked by <see cref="Resume"/>: a checkpoint recording another value for one of these keys is
    /// refused (<see cref="HyperparameterMismatchException"/>, the key as the setting) unless
    /// <see cref="TrainingOptions.AllowChangedHyperparameters"/>. <c>model</c> is compared ignoring case, since older
    /// checkpoints record the model's type name there (<c>ConvNet</c>).
    /// </summary>
    public IReadOnlyDictionary<string, string>? CheckpointMetadata { get; init; }

    /// <summary>The best monitored validation value so far (NaN before the first epoch with a validation set).</summary>
    public double BestMetric => _monitor.Best;

    /// <summary>The epoch of <see cref="BestMetric"/> (0 before the first).</summary>
    public int BestEpoch => _monitor.BestEpoch;

    /// <summary>The optimizer <paramref name="options"/> asks for, over <paramref name="model"/>'s parameters.</summary>
    /// <exception cref="ArgumentException">Nesterov momentum without momentum, or another setting the optimizer refuses.</exception>
    public static Optimizer CreateOptimizer(Module model, TrainingOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        float lr = options.LearningRate, wd = options.WeightDecay ?? 0f;
        if (options.Nesterov && options.Optimizer != OptimizerKind.Sgd)
            throw new ArgumentException($"Nesterov momentum is an SGD setting, but the optimizer is {options.Optimizer}", nameof(options));
        return options.Optimizer switch
        {
            OptimizerKind.Adam => new Adam(model.Parameters(), lr, weightDecay: wd),
            OptimizerKind.Sgd => new Sgd(model.Parameters(), lr, options.Momentum, weightDecay: wd, nesterov: options.Nesterov),
            OptimizerKind.AdamW => new AdamW(model.Parameters(), lr, weightDecay: options.WeightDecay ?? 1e-2f),
            OptimizerKind.RmsProp => new RmsProp(model.Parameters(), lr, weightDecay: wd, momentum: options.Momentum),
            _ => throw new ArgumentOutOfRangeException(nameof(options), options.Optimizer, "unknown optimizer"),
        };
    }

    /// <summary>
    /// One optimisation step on a batch: zero the gradients, forward, cross-entropy (with
    /// <see cref="TrainingOptions.LabelSmoothing"/>), backward, clip the gradients'
    /// global norm (<see cref="TrainingOptions.ClipGradNorm"/>), optimizer step. On the compiled path the plan overwrites
    /// the gradients (the same as zeroing then accumulating) and updates the batch-norm running statistics; the clipping
    /// and the optimizer step follow.
    /// </summary>
    /// <param name="images">Inputs, shape (N, ...) as the model expects.</param>
    /// <param name="labels">N class indices.</param>
    /// <returns>The batch's mean loss before the step.</returns>
    public float TrainStep(Tensor images, int[] labels) => TrainStep(images, labels, out _);

    private float TrainStep(Tensor images, int[] labels, out int correct)
    {
        float loss;
        if (_compiled is not null)
        {
            loss = _compiled.TrainStep(images, labels, out correct, Options.LabelSmoothing);
        }
        else
        {
            Optimizer.ZeroGrad();
            var logits = Model.Forward(images);
            var l = F.CrossEntropy(logits, labels, labelSmoothing: Options.LabelSmoothing);
            correct = CompiledModel.CountCorrect(logits.Data, labels, logits.Size(1));
            l.Backward();
            loss = l.Item();
        }
        if (Options.ClipGradNorm is float maxNorm) GradClip.ClipGradNorm(Optimizer.Parameters, maxNorm);
        Optimizer.Step();
        return loss;
    }

    /// <summary>
    /// Checks and locks <see cref="TrainingOptions.OutputPath"/> now, before anything slow (loading data), instead of at the
    /// start of <see cref="Fit(IDataset, IDataset, IDataset, IProgress{EpochReport}, int?, CancellationToken)"/>:
    /// its directory exists and takes a file the size of a checkpoint, no other run writes it, and stale temporary files
    /// beside it are deleted. Dispose the result to release the lock after Fit. Null when there is no output path.
    /// </summary>
    /// <exception cref="OutputLockedException">Another run writes the output.</exception>
    /// <exception cref="IOException">The output cannot be written; the message names it.</exception>
    /// <exception cref="UnauthorizedAccessException">The output directory is not writable.</exception>
    public IDisposable? OpenOutput()
    {
        if (Options.OutputPath is not string path || _output is not null) return null;
        _output = TrainingOutput.Open(path, ProbeBytes(Model));
        return new Release(this);
    }

    private sealed class Release(Trainer owner) : IDisposable
    {
        public void Dispose()
        {
            owner._output?.Dispose();
            owner._output = null;
        }
    }

    /// <summary>As <see cref="Fit(IDataset, IDataset, IDataset, IProgress{EpochReport}, int?, CancellationToken)"/> without a validation set.</summary>
    public IReadOnlyList<EpochReport> Fit(IDataset train, IDataset? test, IProgress<EpochReport>? progress = null, int? startEpoch = null,
        CancellationToken cancellationToken = default) =>
        Fit(train, null, test, progress, startEpoch, cancellationToken);

    /// <summary>
    /// Trains epochs <paramref name="startEpoch"/>..<see cref="TrainingOptions.Epochs"/> (1-based), or fewer when early
    /// stopping ends the run. Epoch e visits <paramref name="train"/> in the order the data loader draws from (seed, e - 1),
    /// and augments each sample from (seed, e - 1, index), so a run resumed at an epoch boundary sees the same batches as an
    /// uninterrupted one.
    /// </summary>
    /// <remarks>
    /// <para>Each epoch: train; check that the weights are finite; evaluate <paramref name="validation"/> and
    /// <paramref name="test"/>; decide whether <see cref="TrainingOptions.Monitor"/> improved (by more than
    /// <see cref="TrainingOptions.MinDelta"/>; NaN never does); step an epoch or plateau schedule; write the checkpoint (every
    /// epoch, or only when improved with <see cref="TrainingOptions.BestOnly"/>) with the schedule, early-stopping and best
    /// state in its metadata; append the metrics-log line (flushed); report; stop when the monitor has not improved for
    /// <see cref="TrainingOptions.EarlyStoppingPatience"/> epochs.</para>
    /// <para>With <see cref="TrainingOptions.OutputPath"/> set, the output is checked before the first batch, locked against
    /// other runs until Fit returns, and temporary files that killed runs left beside it are deleted (unless
    /// <see cref="OpenOutput"/> did so already).</para>
    /// <para>Divergence: every batch's loss must be finite, and after every epoch every parameter and buffer must be; if not,
    /// Fit stops without saving, so the checkpoint at the output path keeps the last finite weights.</para>
    /// </remarks>
    /// <param name="train">Training samples.</param>
    /// <param name="validation">Evaluated after every epoch and watched by early stopping, best-only checkpoints and a plateau schedule; null: none (those then cannot be used).</param>
    /// <param name="test">Evaluated after every <see cref="TrainingOptions.TestEvery"/>-th epoch and the last one, and only reported; null skips it (the reports then hold NaN).</param>
    /// <param name="progress">Receives each epoch's report.</param>
    /// <param name="startEpoch">First epoch to run; null: 1, or the epoch after the one <see cref="Resume"/> loaded.</param>
    /// <param name="cancellationToken">Stops between batches.</param>
    /// <returns>The reports of the epochs run.</returns>
    /// <exception cref="ArgumentException">An empty training or validation set; early stopping, best-only checkpoints or a
    /// plateau schedule without a validation set; a schedule of another optimizer; a plateau schedule whose mode contradicts the monitor.</exception>
    /// <exception cref="TrainingDivergedException">A loss, parameter or buffer became NaN or infinite.</exception>
    /// <exception cref="OutputLockedException">Another run writes <see cref="TrainingOptions.OutputPath"/>.</exception>
    /// <exception cref="IOException">The output cannot be written (missing directory, disk full); the message names the output path.</exception>
    /// <exception cref="UnauthorizedAccessException">The output directory is not writable.</exception>
    public IReadOnlyList<EpochReport> Fit(IDataset train, IDataset? validation, IDataset? test, IProgress<EpochReport>? progress = null,
        int? startEpoch = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(train);
        // An empty training set runs zero steps, reports a NaN loss and saves the untrained weights as if trained.
        if (train.Count == 0) throw new ArgumentException("Trainer: the training set is empty (0 samples); nothing would be trained", nameof(train));
        if (validation is { Count: 0 })
            throw new ArgumentException("Trainer: the validation set is empty (0 samples); its loss and accuracy would be NaN", nameof(validation));
        int first = startEpoch ?? (_resumed is { } r ? r.Epoch + 1 : 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(first, 1, nameof(startEpoch));
        CheckMonitoring(validation);
        using var output = _output is null ? OpenOutput() : null;
        (string Path, int Epoch)? kept = _resumed is { } resumed && Options.OutputPath is string o && Path.GetFullPath(o) == resumed.Path
            ? resumed : null;
        if (EarlyStopped) return [];
        using var log = Options.MetricsLogPath is string logPath ? MetricsLog.Open(logPath, first) : null;
        if (EvaluationTransform is ITransform t)
        {
            if (validation is not null) validation = new TransformedDataset(validation, t);
            if (test is not null) test = new TransformedDataset(test, t);
        }
        return FitEpochs(train, validation, test, progress, first, kept, log, cancellationToken);
    }

    private bool EarlyStopped => _monitor.Exhausted(Options.EarlyStoppingPatience);

    private void CheckMonitoring(IDataset? validation)
    {
        if (Schedule is not null && !ReferenceEquals(Schedule.Optimizer, Optimizer))
            throw new ArgumentException("Trainer: the learning-rate schedule belongs to another optimizer than the trainer's");
        string? needs = Options.EarlyStoppingPatience is not null ? "early stopping"
            : Options.BestOnly ? "a best-only checkpoint"
            : Schedule?.IsPlateau == true ? "a plateau schedule"
            : null;
        if (needs is not null && validation is null)
            throw new ArgumentException($"Trainer: {needs} watches {MonitorName(Options.Monitor)}, which needs a validation set", nameof(validation));
        var expected = Options.Monitor == MonitorMetric.ValLoss ? PlateauMode.Min : PlateauMode.Max;
        if (Schedule?.PlateauMode is PlateauMode mode && mode != expected)
            throw new ArgumentException($"Trainer: the plateau schedule's mode is {mode}, but {MonitorName(Options.Monitor)} wants {expected}");
    }

    /// <summary>The metric's name in the metrics log and the CLI: <c>val_loss</c> or <c>val_accuracy</c>.</summary>
    public static string MonitorName(MonitorMetric metric) => metric == MonitorMetric.ValLoss ? "val_loss" : "val_accuracy";

    // The loop behind Fit, once the output (if any) is open; kept is a checkpoint at the output path that already holds
    // finite weights (the one a run resumes from), named when the run diverges before writing its own.
    private List<EpochReport> FitEpochs(IDataset train, IDataset? validation, IDataset? test, IProgress<EpochReport>? progress, int startEpoch,
        (string Path, int Epoch)? kept, StreamWriter? log, CancellationToken cancellationToken)
    {
        var loader = new DataLoader(train, Options.BatchSize, shuffle: true, seed: Options.Seed, reuseBuffers: true,
            transform: TrainTransform, numWorkers: Options.NumWorkers);
        var reports = new List<EpochReport>();
        var state = Model.StateDict(); // the live tensors, for the end-of-epoch divergence check
        bool perBatch = Schedule is { Interval: ScheduleInterval.Batch, IsPlateau: false };
        for (int epoch = startEpoch; epoch <= Options.Epochs; epoch++)
        {
            Model.Train();
            double lr = Optimizer.LrExact;
            var clock = Stopwatch.StartNew();
            double lossSum = 0;
            long correctSum = 0;
            int images = 0, batchIndex = 0;
            float loss = float.NaN;
            foreach (var batch in loader.Batches(epoch - 1))
            {
                cancellationToken.ThrowIfCancellationRequested();
                loss = TrainStep(batch.Images, batch.Labels, out int correct);
                batchIndex++;
                if (!float.IsFinite(loss)) throw Diverged(epoch, batchIndex, loss, "loss", kept);
                lossSum += (double)loss * batch.Count;
                correctSum += correct;
                images += batch.Count;
                if (perBatch) Schedule!.Step();
                BatchProgress?.Report(new BatchReport(epoch, batchIndex, loader.BatchCount, loss));
            }
            // The loss of a step does not see the weights that step produced, and NaN weights can even leave a finite
            // loss (ReLU and max-pool drop NaN); so the state itself is checked once per epoch, before it is saved.
            if (FirstNonFinite(state) is string bad) throw Diverged(epoch, null, loss, bad, kept);
            var trainTime = clock.Elapsed;

            clock.Restart();
            var val = validation is null ? Unmeasured : Evaluate(validation, cancellationToken);
            bool improved = false;
            if (validation is not null)
            {
                double metric = Options.Monitor == MonitorMetric.ValLoss ? val.MeanLoss : val.Accuracy;
                improved = _monitor.Update(epoch, metric);
                if (Schedule is { IsPlateau: true }) Schedule.Step(metric);
            }
            if (Schedule is { Interval: ScheduleInterval.Epoch, IsPlateau: false }) Schedule.Step();
            bool stopping = EarlyStopped && epoch < Options.Epochs;
            bool testNow = epoch % Options.TestEvery == 0 || epoch == Options.Epochs || stopping;
            var eval = test is null || !testNow ? Unmeasured : Evaluate(test, cancellationToken);
            var evalTime = clock.Elapsed;

            double trainLoss = images == 0 ? double.NaN : lossSum / images;
            string? checkpoint = null;
            if (Options.OutputPath is string path && (!Options.BestOnly || improved))
            {
                Checkpoint.Save(path, Model, Optimizer, epoch, SaveMetadata(eval, val, trainLoss));
                checkpoint = Path.GetFullPath(path);
                kept = (checkpoint, epoch);
            }

            var report = new EpochReport(epoch, Options.Epochs, trainLoss, eval.MeanLoss, eval.Accuracy, images, trainTime, evalTime, checkpoint)
            {
                Lr = lr,
                TrainAccuracy = images == 0 ? double.NaN : (double)correctSum / images,
                ValidationLoss = val.MeanLoss,
                ValidationAccuracy = val.Accuracy,
                Improved = improved,
                StoppedEarly = stopping,
            };
            if (log is not null)
            {
                log.WriteLine(MetricsLog.Format(report));
                log.Flush();
            }
            reports.Add(report);
            progress?.Report(report);
            if (report.StoppedEarly) break;
        }
        return reports;
    }

    private static readonly EvaluationResult Unmeasured = new(double.NaN, double.NaN, 0, 0);

    // Metadata keys recording the run's settings; a resumed run is checked against them (CheckResumeSettings).
    private const string SeedKey = "seed", BatchSizeKey = "batch_size", LrKey = "lr", MomentumKey = "momentum", OptimizerKey = "optimizer",
        WeightDecayKey = "weight_decay", LabelSmoothingKey = "label_smoothing", NesterovKey = "nesterov", SchedulerKey = "scheduler", MonitorKey = "monitor",
        BestKey = "best_metric", BestEpochKey = "best_epoch", BadEpochsKey = "bad_epochs";

    private Dictionary<string, string> SaveMetadata(EvaluationResult eval, EvaluationResult val, double trainLoss)
    {
        var inv = CultureInfo.InvariantCulture;
        var metadata = new Dictionary<string, string>(CheckpointMetadata ?? new Dictionary<string, string>(), StringComparer.Ordinal)
        {
            ["test_accuracy"] = eval.Accuracy.ToString("R", inv),
            ["train_loss"] = trainLoss.ToString("R", inv),
            // The configured rate, which a resumed run is checked against; a schedule's current one is current_lr.
            [LrKey] = Options.LearningRate.ToString("R", inv),
            ["current_lr"] = Optimizer.LrExact.ToString("R", inv),
            [SeedKey] = Options.Seed.ToString(inv),
            [BatchSizeKey] = Options.BatchSize.ToString(inv),
            [WeightDecayKey] = WeightDecayOf(Optimizer).ToString("R", inv),
            [SchedulerKey] = Schedule?.Name ?? "none",
            [LabelSmoothingKey] = Options.LabelSmoothing.ToString("R", inv),
        };
        if (Optimizer is Sgd or RmsProp) metadata[MomentumKey] = Options.Momentum.ToString("R", inv);
        if (Optimizer is Sgd { Nesterov: true }) metadata[NesterovKey] = "true";
        if (double.IsFinite(val.Accuracy))
        {
            metadata["val_accuracy"] = val.Accuracy.ToString("R", inv);
            metadata["val_loss"] = val.MeanLoss.ToString("R", inv);
        }
        if (!double.IsNaN(_monitor.Best) || _monitor.BadEpochs > 0)
        {
            metadata[MonitorKey] = MonitorName(Options.Monitor);
            if (!double.IsNaN(_monitor.Best)) metadata[BestKey] = _monitor.Best.ToString("R", inv);
            metadata[BestEpochKey] = _monitor.BestEpoch.ToString(inv);
            metadata[BadEpochsKey] = _monitor.BadEpochs.ToString(inv);
        }
        Schedule?.Save(metadata);
        return metadata;
    }

    private static float WeightDecayOf(Optimizer optimizer) => optimizer switch
    {
        AdamBase a => a.WeightDecay,
        Sgd s => s.WeightDecay,
        RmsProp r => r.WeightDecay,
        _ => 0f,
    };

    private static TrainingDivergedException Diverged(int epoch, int? batch, float loss, string what, (string Path, int Epoch)? kept) =>
        new(epoch, batch, loss, what, kept?.Path, kept?.Epoch);

    /// <summary>The key of the first entry holding a NaN or an infinity, or null when all are finite.</summary>
    internal static string? FirstNonFinite(IEnumerable<KeyValuePair<string, Tensor>> state)
    {
        foreach (var (key, tensor) in state)
            if (!Finite.All(tensor.Data)) return key;
        return null;
    }

    // Room for one checkpoint: the model's state plus up to two optimizer buffers per value (Adam), plus the header.
    private static long ProbeBytes(Module model) => 3 * model.StateDict().Sum(e => 4L * e.Value.Numel) + (1 << 16);

    private EvaluationResult Evaluate(IDataset data, CancellationToken cancellationToken)
    {
        if (_compiled is not null) return Evaluator.Evaluate(_compiled, data, Options.EvaluationBatchSize, cancellationToken);
        return Evaluator.Evaluate(Model, data, Options.EvaluationBatchSize, cancellationToken);
    }

    /// <summary>
    /// Continues from the checkpoint at <paramref name="path"/>: checks that it was written with this run's settings, then
    /// loads the model's weights, the optimizer's state, the schedule's position (<see cref="LrSchedule"/>) and the
    /// early-stopping and best-metric state; the next <see cref="Fit(IDataset, IDataset, IDataset, IProgress{EpochReport}, int?, CancellationToken)"/>
    /// starts with the epoch after the checkpoint's, and continues exactly as the run that wrote it would have.
    /// </summary>
    /// <remarks>A best-only checkpoint holds the best epoch, not the last, so a run resumed from it restarts after the best epoch.</remarks>
    /// <param name="path">A checkpoint written by <see cref="Fit(IDataset, IDataset, IDataset, IProgress{EpochReport}, int?, CancellationToken)"/>.</param>
    /// <returns>The checkpoint's epoch and metadata.</returns>
    /// <exception cref="HyperparameterMismatchException">A recorded setting differs from this run's (see <see cref="TrainingOptions.AllowChangedHyperparameters"/>).</exception>
    /// <exception cref="InvalidDataException">The file is not a checkpoint, or its schedule or early-stopping state is invalid.</exception>
    /// <exception cref="StateDictException">The weights do not fit the model.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public CheckpointInfo Resume(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var metadata = SafeTensors.Read(path).Metadata;
        CheckResumeSettings(path, metadata);
        var info = Checkpoint.Load(path, Model, Optimizer);
        if (Schedule is not null && metadata.TryGetValue(SchedulerKey, out var name) && name == Schedule.Name)
            Schedule.Restore(path, metadata);
        if (metadata.TryGetValue(MonitorKey, out var monitor) && monitor == MonitorName(Options.Monitor))
        {
            var inv = CultureInfo.InvariantCulture;
            double best = metadata.TryGetValue(BestKey, out var text) && double.TryParse(text, NumberStyles.Float, inv, out double b) ? b : double.NaN;
            _monitor.Restore(best, WholeNumber(path, metadata, BestEpochKey), WholeNumber(path, metadata, BadEpochsKey));
        }
        _resumed = (Path.GetFullPath(path), info.Epoch);
        return info;
    }

    private static int WholeNumber(string path, IReadOnlyDictionary<string, string> metadata, string key) =>
        metadata.TryGetValue(key, out var text) && int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int value) ? value
            : throw new InvalidDataException($"{path}: __metadata__ '{key}' is missing or not a whole number >= 0");

    /// <summary>
    /// Throws <see cref="HyperparameterMismatchException"/> when this run asks for a seed, batch size, learning rate,
    /// optimizer, momentum, weight decay, label smoothing, Nesterov setting, schedule, monitor or <see cref="CheckpointMetadata"/> value other
    /// than the one the checkpoint at <paramref name="path"/> recorded (settings it did not record are not checked), unless
    /// <see cref="TrainingOptions.AllowChangedHyperparameters"/> is set.
    /// </summary>
    internal void CheckResumeSettings(string path, IReadOnlyDictionary<string, string> metadata)
    {
        if (Options.AllowChangedHyperparameters) return;
        var inv = CultureInfo.InvariantCulture;
        // The model first (its weights would not load into another), then the optimizer (whose state would not load into
        // another optimizer, which would be reported as a key mismatch).
        foreach (var (key, value) in CheckpointMetadata ?? new Dictionary<string, string>())
        {
            var comparison = key == "model" ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
            if (metadata.TryGetValue(key, out var recorded) && !string.Equals(recorded, value, comparison))
                throw new HyperparameterMismatchException(path, key, recorded, value);
        }
        if (metadata.TryGetValue(OptimizerKey, out var kind) && kind != Optimizer.GetType().Name)
            throw new HyperparameterMismatchException(path, nameof(TrainingOptions.Optimizer), kind, Optimizer.GetType().Name);
        Check(SeedKey, nameof(TrainingOptions.Seed), Options.Seed.ToString(inv));
        Check(BatchSizeKey, nameof(TrainingOptions.BatchSize), Options.BatchSize.ToString(inv));
        CheckFloat(LrKey, nameof(TrainingOptions.LearningRate), Options.LearningRate);
        if (Optimizer is Sgd or RmsProp) CheckFloat(MomentumKey, nameof(TrainingOptions.Momentum), Options.Momentum);
        CheckFloat(WeightDecayKey, nameof(TrainingOptions.WeightDecay), WeightDecayOf(Optimizer));
        CheckFloat(LabelSmoothingKey, nameof(TrainingOptions.LabelSmoothing), Options.LabelSmoothing); // older checkpoints lack it
        if (metadata.ContainsKey(WeightDecayKey)) // written together with nesterov and scheduler, which older checkpoints lack
        {
            string nesterov = metadata.TryGetValue(NesterovKey, out var n) ? n : "false";
            string requested = Optimizer is Sgd { Nesterov: true } ? "true" : "false";
            if (nesterov != requested) throw new HyperparameterMismatchException(path, nameof(TrainingOptions.Nesterov), nesterov, requested);
            Check(SchedulerKey, nameof(Schedule), Schedule?.Name ?? "none");
        }
        if (metadata.TryGetValue(MonitorKey, out var monitor) && monitor != MonitorName(Options.Monitor)
            && (Options.EarlyStoppingPatience is not null || Options.BestOnly || Schedule?.IsPlateau == true))
            throw new HyperparameterMismatchException(path, nameof(TrainingOptions.Monitor), monitor, MonitorName(Options.Monitor));

        void Check(string key, string setting, string requested)
        {
            if (metadata.TryGetValue(key, out var recorded) && recorded != requested)
                throw new HyperparameterMismatchException(path, setting, recorded, requested);
        }

        void CheckFloat(string key, string setting, float requested)
        {
            if (metadata.TryGetValue(key, out var recorded)
                && !(float.TryParse(recorded, NumberStyles.Float, inv, out float value) && value == requested))
                throw new HyperparameterMismatchException(path, setting, recorded, requested.ToString("R", inv));
        }
    }
}
