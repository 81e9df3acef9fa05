using System.Globalization;

namespace CnnSharp.Training;

/// <summary>
/// Training produced a non-finite loss or non-finite weights; the run stopped without saving them, so the checkpoint at
/// the output path (if any) is the last one with finite weights.
/// </summary>
public sealed class TrainingDivergedException : Exception
{
    /// <summary>Creates the exception; the message names the epoch, the batch, the loss and the checkpoint kept.</summary>
    /// <param name="epoch">The epoch in which the divergence was found, from 1.</param>
    /// <param name="batch">The batch whose loss was not finite, from 1; null when the loss stayed finite and the end-of-epoch weight check found it.</param>
    /// <param name="loss">The offending loss (NaN or infinite), or the epoch's last loss when <paramref name="batch"/> is null.</param>
    /// <param name="what">What was not finite: "loss" or the first parameter or buffer name.</param>
    /// <param name="checkpointPath">The checkpoint this run last wrote (finite weights), or null.</param>
    /// <param name="checkpointEpoch">Its epoch, or null.</param>
    public TrainingDivergedException(int epoch, int? batch, float loss, string what, string? checkpointPath, int? checkpointEpoch)
        : base(Describe(epoch, batch, loss, what, checkpointPath, checkpointEpoch))
    {
        Epoch = epoch;
        Batch = batch;
        Loss = loss;
        NonFinite = what;
        CheckpointPath = checkpointPath;
        CheckpointEpoch = checkpointEpoch;
    }

    /// <summary>Creates an empty exception.</summary>
    public TrainingDivergedException() => NonFinite = "";

    /// <summary>Creates the exception with a message.</summary>
    public TrainingDivergedException(string message) : base(message) => NonFinite = "";

    /// <summary>Creates the exception wrapping an inner error.</summary>
    public TrainingDivergedException(string message, Exception innerException) : base(message, innerException) => NonFinite = "";

    /// <summary>The epoch in which the divergence was found, from 1.</summary>
    public int Epoch { get; }

    /// <summary>The batch whose loss was not finite, from 1; null when the end-of-epoch weight check found it.</summary>
    public int? Batch { get; }

    /// <summary>The non-finite loss, or the epoch's last (finite) loss when <see cref="Batch"/> is null.</summary>
    public float Loss { get; }

    /// <summary>What was not finite: <c>loss</c>, or the state-dict key of the first non-finite parameter or buffer.</summary>
    public string NonFinite { get; }

    /// <summary>The checkpoint this run last wrote, which holds finite weights; null when it wrote none.</summary>
    public string? CheckpointPath { get; }

    /// <summary>The epoch of <see cref="CheckpointPath"/>; null when this run wrote no checkpoint.</summary>
    public int? CheckpointEpoch { get; }

    private static string Describe(int epoch, int? batch, float loss, string what, string? path, int? checkpointEpoch)
    {
        var inv = CultureInfo.InvariantCulture;
        string where = batch is int b ? $"epoch {epoch.ToString(inv)}, batch {b.ToString(inv)}" : $"epoch {epoch.ToString(inv)}";
        string found = what == "loss"
            ? $"the loss is {loss.ToString(inv)}"
            : $"{what} is not finite after the epoch's last step (last loss {loss.ToString(inv)})";
        string kept = path is null
            ? "no checkpoint was written by this run"
            : $"the last finite checkpoint is kept: {path} (epoch {checkpointEpoch?.ToString(inv)})";
        return $"training diverged in {where}: {found}; {kept}. Try a lower learning rate";
    }
}
