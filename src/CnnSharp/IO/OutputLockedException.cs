namespace CnnSharp.IO;

/// <summary>Another live process (or another run in this one) holds the lock of an output file; nothing was written.</summary>
public sealed class OutputLockedException : IOException
{
    /// <summary>Creates the exception for <paramref name="lockPath"/>, held by the run <paramref name="owner"/> describes.</summary>
    /// <param name="message">The whole message.</param>
    /// <param name="lockPath">The lock file.</param>
    /// <param name="owner">What the holder wrote about itself (process id, start time, command line), or null when unknown.</param>
    public OutputLockedException(string message, string lockPath, string? owner) : base(message)
    {
        LockPath = lockPath;
        Owner = owner;
    }

    /// <summary>Creates an empty exception.</summary>
    public OutputLockedException() => LockPath = "";

    /// <summary>Creates the exception with a message.</summary>
    public OutputLockedException(string message) : base(message) => LockPath = "";

    /// <summary>Creates the exception wrapping an inner error.</summary>
    public OutputLockedException(string message, Exception innerException) : base(message, innerException) => LockPath = "";

    /// <summary>The lock file, <c>{output}.lock</c>.</summary>
    public string LockPath { get; }

    /// <summary>The holder's description (process id, start time, command line), or null when it could not be read.</summary>
    public string? Owner { get; }
}
