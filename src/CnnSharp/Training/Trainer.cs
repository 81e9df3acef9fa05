using System.Diagnostics;
using System.Globalization;
using CnnSharp.Compile;
using CnnSharp.Data;
using CnnSharp.Functional;
using CnnSharp.IO;
using CnnSharp.Kernels;
using CnnSharp.Models;
using CnnSharp.Modules;
using CnnSharp.Optimizers;
using CnnSharp.Training.Fast;

namespace CnnSharp.Training;

/// <summary>
/// The training loop shared by the CLI and the tests: shuffled mini-batches, forward, cross-entropy, backward, optimizer
/// step; after each epoch an evaluation on the test set, a report and (optionally) an atomic checkpoint.
/// </summary>
/// <example>
/// <code>
/// var run = Trainer.Run(new TrainingOptions { Epochs = 1 }, new Progress&lt;EpochReport&gt;(r => Console.WriteLine(r)));
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
        _engine = options.FastPath ? CreateEngine(model, out _batchNormEps) : null;
        _compiled = options.FastPath && _engine is null ? model.Compile() : null;
    }

    // Every other model trains on the compiled executor (planned buffers, fused ops); null on the eager path.
    private readonly CompiledModel? _compiled;

    private readonly ConvNetEngine? _engine;
    private readonly float _batchNormEps;
    private ConvNetPredictor? _predictor;

    /// <summary>Whether steps run on the fused ConvNet engine (<see cref="TrainingOptions.FastPath"/> and a seed ConvNet).</summary>
    public bool UsesFastPath => _engine is not null;

    // The engine implements exactly the seed's architecture with training-mode batch norm at a fixed momentum.
    private static ConvNetEngine? CreateEngine(Module model, out float eps)
    {
        eps = 0;
        if (model is not ConvNet) return null;
        var norms = model.NamedModules().Select(m => m.Value).OfType<BatchNorm2d>().ToList();
        if (norms.Count != 2 || norms[0].Momentum is not float momentum || norms[1].Momentum != momentum || norms[0].Eps != norms[1].Eps)
            return null;
        var state = model.StateDict();
        if (!ConvNetEngine.Supports(state)) return null;
        eps = norms[0].Eps;
        return new ConvNetEngine(state, eps, momentum);
    }

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
    /// One optimisation step on a batch: zero the gradients, forward, cross-entropy, backward, optimizer step. On the fast
    /// path the fused engine overwrites the gradients (the same as zeroing then accumulating) and updates the batch-norm
    /// running statistics, then the optimizer steps.
    /// </summary>
    /// <param name="images">Inputs, shape (N, ...) as the model expects.</param>
    /// <param name="labels">N class indices.</param>
    /// <returns>The batch's mean loss before the step.</returns>
    public float TrainStep(Tensor images, int[] labels)
    {
        if (_engine is not null)
        {
            float fast = _engine.TrainStep(images, labels);
            Optimizer.Step();
            return fast;
        }
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
    /// <param name="train">Training samples.</param>
    /// <param name="test">Evaluated after every epoch; null skips evaluation (the report then holds NaN).</param>
    /// <param name="progress">Receives each epoch's report.</param>
    /// <param name="startEpoch">First epoch to run (greater than 1 when resuming from a checkpoint).</param>
    /// <param name="cancellationToken">Stops between batches.</param>
    /// <returns>The reports of the epochs run.</returns>
    public IReadOnlyList<EpochReport> Fit(IDataset train, IDataset? test, IProgress<EpochReport>? progress = null, int startEpoch = 1,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(train);
        ArgumentOutOfRangeException.ThrowIfLessThan(startEpoch, 1);
        var loader = new DataLoader(train, Options.BatchSize, shuffle: true, seed: Options.Seed, reuseBuffers: true);
        var reports = new List<EpochReport>();
        for (int epoch = startEpoch; epoch <= Options.Epochs; epoch++)
        {
            Model.Train();
            var clock = Stopwatch.StartNew();
            double lossSum = 0;
            int images = 0, batchIndex = 0;
            foreach (var batch in loader.Batches(epoch - 1))
            {
                cancellationToken.ThrowIfCancellationRequested();
                float loss = TrainStep(batch.Images, batch.Labels);
                lossSum += (double)loss * batch.Count;
                images += batch.Count;
                BatchProgress?.Report(new BatchReport(epoch, ++batchIndex, loader.BatchCount, loss));
            }
            var trainTime = clock.Elapsed;

            clock.Restart();
            var eval = test is null
                ? new EvaluationResult(double.NaN, double.NaN, 0, 0)
                : Evaluate(test, cancellationToken);
            var evalTime = clock.Elapsed;

            string? checkpoint = null;
            if (Options.OutputPath is string path)
            {
                Checkpoint.Save(path, Model, Optimizer, epoch, new Dictionary<string, string>
                {
                    ["test_accuracy"] = eval.Accuracy.ToString("R", CultureInfo.InvariantCulture),
                    ["train_loss"] = (lossSum / Math.Max(1, images)).ToString("R", CultureInfo.InvariantCulture),
                    ["lr"] = Optimizer.Lr.ToString("R", CultureInfo.InvariantCulture),
                    ["seed"] = Options.Seed.ToString(CultureInfo.InvariantCulture),
                    ["batch_size"] = Options.BatchSize.ToString(CultureInfo.InvariantCulture),
                });
                checkpoint = Path.GetFullPath(path);
            }

            var report = new EpochReport(epoch, Options.Epochs, images == 0 ? double.NaN : lossSum / images, eval.MeanLoss, eval.Accuracy,
                images, trainTime, evalTime, checkpoint);
            reports.Add(report);
            progress?.Report(report);
        }
        return reports;
    }

    private EvaluationResult Evaluate(IDataset test, CancellationToken cancellationToken)
    {
        if (_compiled is not null) return Evaluator.Evaluate(_compiled, test, Options.EvaluationBatchSize, cancellationToken);
        if (_engine is null) return Evaluator.Evaluate(Model, test, Options.EvaluationBatchSize, cancellationToken);
        if (_predictor is null) _predictor = new ConvNetPredictor(Model.StateDict(), _batchNormEps);
        else _predictor.Refresh();
        return Evaluator.Evaluate(_predictor, test, Options.EvaluationBatchSize, cancellationToken);
    }

    /// <summary>
    /// The whole job behind <c>cnnsharp train</c>: loads MNIST (fetching it when absent), builds the seed's
    /// <see cref="ConvNet"/> from <see cref="TrainingOptions.Seed"/> (or resumes from <see cref="TrainingOptions.ResumeFrom"/>),
    /// and trains it with <see cref="Fit"/>. Pixels are scaled to [0, 1] by the data layer.
    /// </summary>
    /// <param name="options">The run's settings.</param>
    /// <param name="progress">Receives each epoch's report.</param>
    /// <param name="batchProgress">Receives each step's loss.</param>
    /// <param name="fetchProgress">Receives download progress when MNIST has to be fetched.</param>
    /// <param name="cancellationToken">Stops the fetch or the training between batches.</param>
    /// <returns>The trained model, its optimizer and the epoch reports.</returns>
    public static TrainingRun Run(TrainingOptions options, IProgress<EpochReport>? progress = null, IProgress<BatchReport>? batchProgress = null,
        IProgress<FetchProgress>? fetchProgress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (options.Threads is int threads) Parallelism.MaxThreads = threads;
        var mnist = Mnist.Load(options.DataDirectory, fetch: true, fetchProgress, cancellationToken);
        var train = DatasetPrefix.Take(mnist.Train, options.Limit);
        var test = DatasetPrefix.Take(mnist.Test, options.TestLimit);

        var model = new ConvNet(Mnist.NumClasses, new Generator(options.Seed));
        var optimizer = CreateOptimizer(model, options);
        int startEpoch = 1;
        if (options.ResumeFrom is string resume)
            startEpoch = Checkpoint.Load(resume, model, optimizer).Epoch + 1;
        var trainer = new Trainer(model, optimizer, options) { BatchProgress = batchProgress };
        var reports = trainer.Fit(train, test, progress, startEpoch, cancellationToken);
        return new TrainingRun(model, optimizer, reports, train.Count, test.Count);
    }
}

/// <summary>The outcome of <see cref="Trainer.Run"/>.</summary>
/// <param name="Model">The trained network.</param>
/// <param name="Optimizer">Its optimizer, with its state.</param>
/// <param name="Reports">One report per epoch run.</param>
/// <param name="TrainCount">Training images per epoch.</param>
/// <param name="TestCount">Test images evaluated per epoch.</param>
public sealed record TrainingRun(ConvNet Model, Optimizer Optimizer, IReadOnlyList<EpochReport> Reports, int TrainCount, int TestCount);
