namespace CnnSharp.Training;

/// <summary>What one training epoch achieved.</summary>
/// <param name="Epoch">The epoch just finished, from 1.</param>
/// <param name="Epochs">The number of epochs in the run.</param>
/// <param name="TrainLoss">Mean cross-entropy over the epoch's batches (each batch's mean weighted by its size).</param>
/// <param name="TestLoss">Mean cross-entropy on the test set after the epoch (NaN when there is no test set).</param>
/// <param name="TestAccuracy">Fraction of test images classified correctly after the epoch, in [0, 1] (NaN when there is no test set).</param>
/// <param name="TrainImages">Images seen in the epoch.</param>
/// <param name="TrainTime">Wall time of the epoch's training (forward, backward, optimizer steps, data loading).</param>
/// <param name="EvaluationTime">Wall time of the evaluation after the epoch.</param>
/// <param name="CheckpointPath">The checkpoint written after the epoch, or null.</param>
public sealed record EpochReport(int Epoch, int Epochs, double TrainLoss, double TestLoss, double TestAccuracy, int TrainImages,
    TimeSpan TrainTime, TimeSpan EvaluationTime, string? CheckpointPath)
{
    /// <summary>The learning rate the epoch started with (per-batch schedules change it within the epoch).</summary>
    public double Lr { get; init; } = double.NaN;

    /// <summary>Fraction of the epoch's training images whose prediction (before their step) was right, in [0, 1].</summary>
    public double TrainAccuracy { get; init; } = double.NaN;

    /// <summary>Mean cross-entropy on the validation set after the epoch (NaN without one).</summary>
    public double ValidationLoss { get; init; } = double.NaN;

    /// <summary>Fraction of the validation set classified correctly after the epoch, in [0, 1] (NaN without one).</summary>
    public double ValidationAccuracy { get; init; } = double.NaN;

    /// <summary>Whether the monitored metric (<see cref="TrainingOptions.Monitor"/>) improved in this epoch; false without a validation set.</summary>
    public bool Improved { get; init; }

    /// <summary>Whether early stopping ended the run after this epoch.</summary>
    public bool StoppedEarly { get; init; }

    /// <summary>Training throughput: images per second of <see cref="TrainTime"/>.</summary>
    public double ImagesPerSecond => TrainTime > TimeSpan.Zero ? TrainImages / TrainTime.TotalSeconds : double.NaN;
}

/// <summary>Progress within an epoch, reported after each training step.</summary>
/// <param name="Epoch">The epoch, from 1.</param>
/// <param name="Batch">Batches done in this epoch, from 1.</param>
/// <param name="BatchCount">Batches in the epoch.</param>
/// <param name="Loss">The loss of the batch just trained.</param>
public readonly record struct BatchReport(int Epoch, int Batch, int BatchCount, float Loss);

/// <summary>Accuracy and loss of a model on a data set.</summary>
/// <param name="Accuracy">Fraction classified correctly, in [0, 1].</param>
/// <param name="MeanLoss">Mean cross-entropy per image.</param>
/// <param name="Correct">Images classified correctly.</param>
/// <param name="Count">Images evaluated.</param>
public readonly record struct EvaluationResult(double Accuracy, double MeanLoss, int Correct, int Count);
