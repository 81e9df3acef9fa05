namespace CnnSharp.IO;

/// <summary>
/// Thrown by <see cref="Checkpoint.Load"/> when the checkpoint holds the state of another optimizer type than the one it
/// is asked to restore (Adam's moments into SGD, say). Nothing has been changed.
/// </summary>
public sealed class OptimizerMismatchException : InvalidOperationException
{
    /// <summary>Creates the exception for checkpoint <paramref name="path"/>, which holds <paramref name="savedOptimizer"/> state, asked for <paramref name="requestedOptimizer"/>.</summary>
    public OptimizerMismatchException(string path, string savedOptimizer, string requestedOptimizer)
        : base($"{path} holds {savedOptimizer} optimizer state, which cannot be loaded into {requestedOptimizer}; resume with {savedOptimizer}, or start without the checkpoint's optimizer state")
    {
        Path = path;
        SavedOptimizer = savedOptimizer;
        RequestedOptimizer = requestedOptimizer;
    }

    /// <summary>Creates an empty exception.</summary>
    public OptimizerMismatchException() { }

    /// <summary>Creates the exception with a message.</summary>
    public OptimizerMismatchException(string message) : base(message) { }

    /// <summary>Creates the exception wrapping an inner error.</summary>
    public OptimizerMismatchException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>The checkpoint file.</summary>
    public string? Path { get; }

    /// <summary>The optimizer type whose state the checkpoint holds (its <c>optimizer</c> metadata, e.g. <c>Adam</c>).</summary>
    public string? SavedOptimizer { get; }

    /// <summary>The type of the optimizer that was to receive the state (e.g. <c>Sgd</c>).</summary>
    public string? RequestedOptimizer { get; }
}
