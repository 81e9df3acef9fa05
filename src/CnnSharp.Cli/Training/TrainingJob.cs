using CnnSharp.Data;
using CnnSharp.IO;
using CnnSharp.Models;
using CnnSharp.Training;

namespace CnnSharp.Cli.Training;

/// <summary>The <c>cnnsharp train</c> job: MNIST and the tutorial's ConvNet, trained with <see cref="Trainer"/>.</summary>
/// <example>
/// <code>
/// var run = TrainingJob.Run(new TrainingOptions { Epochs = 1 }, new Progress&lt;EpochReport&gt;(r => Console.WriteLine(r)));
/// </code>
/// </example>
public static class TrainingJob
{
    /// <summary>
    /// The whole job behind <c>cnnsharp train</c>: loads MNIST (fetching it when absent), builds the tutorial's
    /// <see cref="ConvNet"/> from <see cref="TrainingOptions.Seed"/> (or resumes from <see cref="TrainingOptions.ResumeFrom"/>),
    /// and trains it with <see cref="Trainer.Fit"/>. Pixels are scaled to [0, 1] by the data layer.
    /// </summary>
    /// <param name="options">The run's settings.</param>
    /// <param name="progress">Receives each epoch's report.</param>
    /// <param name="batchProgress">Receives each step's loss.</param>
    /// <param name="fetchProgress">Receives download progress when MNIST has to be fetched.</param>
    /// <param name="cancellationToken">Stops the fetch or the training between batches.</param>
    /// <returns>The trained model, its optimizer and the epoch reports.</returns>
    /// <exception cref="HyperparameterMismatchException">Resuming with a setting other than the checkpoint's (see <see cref="TrainingOptions.AllowChangedHyperparameters"/>).</exception>
    /// <exception cref="TrainingDivergedException">The loss or the weights became NaN or infinite; the last finite checkpoint is kept.</exception>
    /// <exception cref="OutputLockedException">Another run writes <see cref="TrainingOptions.OutputPath"/>.</exception>
    /// <exception cref="IOException">The output cannot be written (missing directory, disk full), checked before the data is loaded.</exception>
    public static TrainingRun Run(TrainingOptions options, IProgress<EpochReport>? progress = null, IProgress<BatchReport>? batchProgress = null,
        IProgress<FetchProgress>? fetchProgress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        // The run's thread count applies to this run only (its call flow), not to the rest of the process.
        using var scope = options.Threads is int threads ? ExecutionOptions.Use(ExecutionOptions.Current with { Threads = threads }) : default;
        var model = new ConvNet(Mnist.NumClasses, new Generator(options.Seed));
        var optimizer = Trainer.CreateOptimizer(model, options);
        // The output is checked and locked before the data is loaded (or fetched), so a bad path fails in a second.
        using var output = options.OutputPath is string path ? TrainingOutput.Open(path, Trainer.ProbeBytes(model)) : null;

        int startEpoch = 1;
        (string Path, int Epoch)? kept = null;
        if (options.ResumeFrom is string resume)
        {
            Trainer.CheckResumeSettings(resume, SafeTensors.Read(resume).Metadata, options, optimizer);
            int epoch = Checkpoint.Load(resume, model, optimizer).Epoch;
            startEpoch = epoch + 1;
            if (options.OutputPath is string o && Path.GetFullPath(o) == Path.GetFullPath(resume)) kept = (Path.GetFullPath(resume), epoch);
        }

        var mnist = Mnist.Load(options.DataDirectory, fetch: true, fetchProgress, cancellationToken);
        var train = DatasetPrefix.Take(mnist.Train, options.Limit);
        var test = DatasetPrefix.Take(mnist.Test, options.TestLimit);
        var trainer = new Trainer(model, optimizer, options) { BatchProgress = batchProgress };
        var reports = trainer.FitEpochs(train, test, progress, startEpoch, kept, cancellationToken);
        return new TrainingRun(model, optimizer, reports, train.Count, test.Count);
    }
}
