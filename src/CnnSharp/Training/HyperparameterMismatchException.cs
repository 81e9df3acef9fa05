namespace CnnSharp.Training;

/// <summary>
/// A run resuming from a checkpoint asks for a different value of a setting the checkpoint recorded (seed, batch size,
/// learning rate, optimizer, momentum), and <see cref="TrainingOptions.AllowChangedHyperparameters"/> is off.
/// </summary>
public sealed class HyperparameterMismatchException : ArgumentException
{
    /// <summary>Creates the exception naming the setting and both values.</summary>
    /// <param name="checkpoint">The checkpoint resumed from.</param>
    /// <param name="setting">The <see cref="TrainingOptions"/> property, e.g. <c>LearningRate</c>.</param>
    /// <param name="checkpointValue">The value the checkpoint recorded.</param>
    /// <param name="requestedValue">The value this run asks for.</param>
    public HyperparameterMismatchException(string checkpoint, string setting, string checkpointValue, string requestedValue)
        : base($"{checkpoint} was trained with {setting} {checkpointValue}, but this run asks for {requestedValue}; resume with the same value " +
               $"(or allow changed hyperparameters on purpose)", setting)
    {
        Checkpoint = checkpoint;
        Setting = setting;
        CheckpointValue = checkpointValue;
        RequestedValue = requestedValue;
    }

    /// <summary>Creates an empty exception.</summary>
    public HyperparameterMismatchException() => Checkpoint = Setting = CheckpointValue = RequestedValue = "";

    /// <summary>Creates the exception with a message.</summary>
    public HyperparameterMismatchException(string message) : base(message) => Checkpoint = Setting = CheckpointValue = RequestedValue = "";

    /// <summary>Creates the exception wrapping an inner error.</summary>
    public HyperparameterMismatchException(string message, Exception innerException) : base(message, innerException) =>
        Checkpoint = Setting = CheckpointValue = RequestedValue = "";

    /// <summary>The checkpoint resumed from.</summary>
    public string Checkpoint { get; }

    /// <summary>The <see cref="TrainingOptions"/> property that differs, e.g. <c>LearningRate</c>.</summary>
    public string Setting { get; }

    /// <summary>The value recorded in the checkpoint, as written there.</summary>
    public string CheckpointValue { get; }

    /// <summary>The value this run asks for, formatted like <see cref="CheckpointValue"/>.</summary>
    public string RequestedValue { get; }
}
