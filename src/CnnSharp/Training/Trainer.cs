using System.Diagnostics;
using System.Globalization;
using CnnSharp.Compile;
using CnnSharp.Data;
using CnnSharp.Functional;
using CnnSharp.IO;
using CnnSharp.Kernels;
using CnnSharp.Modules;
using CnnSharp.Optimizers;

namespace CnnSharp.Training;

/// <summary>
/// The training loop shared by the CLI and the tests: shuffled mini-batches, forward, cross-entropy, backward, optimizer
/// step; after each epoch an evaluation on the test set, a report and (optionally) an atomic checkpoint.
/// </summary>
/// <example>
/// <code>
/// var trainer = new Trainer(model, Trainer.CreateOptimizer(model, options), options);
/// var reports = trainer.Fit(train, test, new Progress&lt;EpochReport&gt;(r => Console.WriteLine(r)));
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
    }

    // Every model, the tutorial's ConvNet included, trains on the compiled executor (planned buffers, fused conv chains);
    // null on the eager path.
    private readonly CompiledModel? _compiled;

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

    /// <summary>The optimizer <paramref name="options"/> asks for, over <paramref name="model"/>'s parameters.</summary>
    public static Optimizer CreateOptimizer(Module model, TrainingOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        return options.Optimizer switch
        {
            OptimizerKind.Adam => new Adam(model.Parameters(), options.LearningRate),
            OptimizerKind.Sgd => new Sgd(model.Parameters(), options.LearningRate, options.Momentum),
            _ => throw new ArgumentOutOfRangeException(nameof(options), options.Optimizer, "unknown optimizer"),
        };
    }

    /// <summary>
    /// One optimisation step on a batch: zero the gradients, forward, cross-entropy, backward, optimizer step. On the
    /// compiled path the plan overwrites the gradients (the same as zeroing then accumulating) and updates the batch-norm
    /// running statistics, then the optimizer steps.
    /// </summary>
    /// <param name="images">Inputs, shape (N, ...) as the model expects.</param>
    /// <param name="labels">N class indices.</param>
    /// <returns>The batch's mean loss before the step.</returns>
    public float TrainStep(Tensor images, int[] labels)
    {
        if (_compiled is not null)
        {
            float compiled = _compiled.TrainStep(images, labels);
            Optimizer.Step();
            return compiled;
        }
        Optimizer.ZeroGrad();
        var loss = F.CrossEntropy(Model.Forward(images), labels);
        loss.Backward();
        Optimizer.Step();
        return loss.Item();
    }

    /// <summary>
    /// Trains epochs <paramref name="startEpoch"/>..<see cref="TrainingOptions.Epochs"/> (1-based). Epoch e visits
    /// <paramref name="train"/> in the order the data loader draws from (seed, e - 1), so a run resumed at an epoch
    /// boundary sees the same batches as an uninterrupted one.
    /// </summary>
    /// <remarks>
    /// <para>With <see cref="TrainingOptions.OutputPath"/> set, the output is checked before the first batch (its directory
    /// exists and takes a file the size of a checkpoint), locked against other runs until Fit returns, and temporary files
    /// that killed runs left beside it are deleted.</para>
    /// <para>Divergence: every batch's loss must be finite, and after every epoch every parameter and buffer must be; if not,
    /// Fit stops without saving, so the checkpoint at the output path keeps the last finite weights.</para>
    /// </remarks>
    /// <param name="train">Training samples.</param>
    /// <param name="test">Evaluated after every epoch; null skips evaluation (the report then holds NaN).</param>
    /// <param name="progress">Receives each epoch's report.</param>
    /// <param name="startEpoch">First epoch to run (greater than 1 when resuming from a checkpoint).</param>
    /// <param name="cancellationToken">Stops between batches.</param>
    /// <returns>The reports of the epochs run.</returns>
    /// <exception cref="TrainingDivergedException">A loss, parameter or buffer became NaN or infinite.</exception>
    /// <exception cref="OutputLockedException">Another run writes <see cref="TrainingOptions.OutputPath"/>.</exception>
    /// <exception cref="IOException">The output cannot be written (missing directory, disk full); the message names the output path.</exception>
    /// <exception cref="UnauthorizedAccessException">The output directory is not writable.</exception>
    public IReadOnlyList<EpochReport> Fit(IDataset train, IDataset? test, IProgress<EpochReport>? progress = null, int startEpoch = 1,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(train);
        ArgumentOutOfRangeException.ThrowIfLessThan(startEpoch, 1);
        using var output = Options.OutputPath is string path ? TrainingOutput.Open(path, ProbeBytes(Model)) : null;
        return FitEpochs(train, test, progress, startEpoch, kept: null, cancellationToken);
    }

    // The loop behind Fit, once the output (if any) is open; kept is a checkpoint at the output path that already holds
    // finite weights (the one a run resumes from), named when the run diverges before writing its own.
    internal List<EpochReport> FitEpochs(IDataset train, IDataset? test, IProgress<EpochReport>? progress, int startEpoch,
        (string Path, int Epoch)? kept, CancellationToken cancellationToken)
    {
        var loader = new DataLoader(train, Options.BatchSize, shuffle: true, seed: Options.Seed, reuseBuffers: true);
        var reports = new List<EpochReport>();
        var state = Model.StateDict(); // the live tensors, for the end-of-epoch divergence check
        for (int epoch = startEpoch; epoch <= Options.Epochs; epoch++)
        {
            Model.Train();
            var clock = Stopwatch.StartNew();
            double lossSum = 0;
            int images = 0, batchIndex = 0;
            float loss = float.NaN;
            foreach (var batch in loader.Batches(epoch - 1))
            {
                cancellationToken.ThrowIfCancellationRequested();
                loss = TrainStep(batch.Images, batch.Labels);
                batchIndex++;
                if (!float.IsFinite(loss)) throw Diverged(epoch, batchIndex, loss, "loss", kept);
                lossSum += (double)loss * batch.Count;
                images += batch.Count;
                BatchProgress?.Report(new BatchReport(epoch, batchIndex, loader.BatchCount, loss));
            }
            // The loss of a step does not see the weights that step produced, and NaN weights can even leave a finite
            // loss (ReLU and max-pool drop NaN); so the state itself is checked once per epoch, before it is saved.
            if (FirstNonFinite(state) is string bad) throw Diverged(epoch, null, loss, bad, kept);
            var trainTime = clock.Elapsed;

            clock.Restart();
            var eval = test is null
                ? new EvaluationResult(double.NaN, double.NaN, 0, 0)
                : Evaluate(test, cancellationToken);
            var evalTime = clock.Elapsed;

            string? checkpoint = null;
            if (Options.OutputPath is string path)
            {
                Checkpoint.Save(path, Model, Optimizer, epoch, CheckpointMetadata(eval, lossSum / Math.Max(1, images)));
                checkpoint = Path.GetFullPath(path);
                kept = (checkpoint, epoch);
            }

            var report = new EpochReport(epoch, Options.Epochs, images == 0 ? double.NaN : lossSum / images, eval.MeanLoss, eval.Accuracy,
                images, trainTime, evalTime, checkpoint);
            reports.Add(report);
            progress?.Report(report);
        }
        return reports;
    }

    // Metadata keys recording the run's settings; a resumed run is checked against them (CheckResumeSettings).
    private const string SeedKey = "seed", BatchSizeKey = "batch_size", LrKey = "lr", MomentumKey = "momentum", OptimizerKey = "optimizer";

    private Dictionary<string, string> CheckpointMetadata(EvaluationResult eval, double trainLoss)
    {
        var inv = CultureInfo.InvariantCulture;
        var metadata = new Dictionary<string, string>
        {
            ["test_accuracy"] = eval.Accuracy.ToString("R", inv),
            ["train_loss"] = trainLoss.ToString("R", inv),
            [LrKey] = Optimizer.Lr.ToString("R", inv),
            [SeedKey] = Options.Seed.ToString(inv),
            [BatchSizeKey] = Options.BatchSize.ToString(inv),
        };
        if (Optimizer is Sgd) metadata[MomentumKey] = Options.Momentum.ToString("R", inv);
        return metadata;
    }

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
    internal static long ProbeBytes(Module model) => 3 * model.StateDict().Sum(e => 4L * e.Value.Numel) + (1 << 16);

    private EvaluationResult Evaluate(IDataset test, CancellationToken cancellationToken)
    {
        if (_compiled is not null) return Evaluator.Evaluate(_compiled, test, Options.EvaluationBatchSize, cancellationToken);
        return Evaluator.Evaluate(Model, test, Options.EvaluationBatchSize, cancellationToken);
    }

    /// <summary>
    /// Throws <see cref="HyperparameterMismatchException"/> when <paramref name="options"/> ask for a seed, batch size, learning
    /// rate, optimizer or momentum other than the one the checkpoint at <paramref name="path"/> recorded (settings it did not
    /// record are not checked), unless <see cref="TrainingOptions.AllowChangedHyperparameters"/> is set.
    /// </summary>
    internal static void CheckResumeSettings(string path, IReadOnlyDictionary<string, string> metadata, TrainingOptions options, Optimizer optimizer)
    {
        if (options.AllowChangedHyperparameters) return;
        var inv = CultureInfo.InvariantCulture;
        // The optimizer first: its state would not load into another optimizer, which would be reported as a key mismatch.
        if (metadata.TryGetValue(OptimizerKey, out var kind) && kind != optimizer.GetType().Name)
            throw new HyperparameterMismatchException(path, nameof(TrainingOptions.Optimizer), kind, optimizer.GetType().Name);
        if (metadata.TryGetValue(SeedKey, out var seed) && seed != options.Seed.ToString(inv))
            throw new HyperparameterMismatchException(path, nameof(TrainingOptions.Seed), seed, options.Seed.ToString(inv));
        if (metadata.TryGetValue(BatchSizeKey, out var batch) && batch != options.BatchSize.ToString(inv))
            throw new HyperparameterMismatchException(path, nameof(TrainingOptions.BatchSize), batch, options.BatchSize.ToString(inv));
        if (metadata.TryGetValue(LrKey, out var lr) && !SameFloat(lr, options.LearningRate))
            throw new HyperparameterMismatchException(path, nameof(TrainingOptions.LearningRate), lr, options.LearningRate.ToString("R", inv));
        if (optimizer is Sgd && metadata.TryGetValue(MomentumKey, out var momentum) && !SameFloat(momentum, options.Momentum))
            throw new HyperparameterMismatchException(path, nameof(TrainingOptions.Momentum), momentum, options.Momentum.ToString("R", inv));

        static bool SameFloat(string recorded, float requested) =>
            float.TryParse(recorded, NumberStyles.Float, CultureInfo.InvariantCulture, out float value) && value == requested;
    }
}
