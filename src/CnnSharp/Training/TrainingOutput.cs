using CnnSharp.IO;

namespace CnnSharp.Training;

/// <summary>
/// The checkpoint path of a training run, made ready before any training: its directory exists and takes a file the
/// size of a checkpoint, no other run writes it (<see cref="OutputLock"/>, held until disposed), and temporary files that
/// killed runs left beside it are gone.
/// </summary>
internal sealed class TrainingOutput : IDisposable
{
    private readonly OutputLock _lock;

    private TrainingOutput(string path, OutputLock held, IReadOnlyList<string> removed)
    {
        Path = path;
        _lock = held;
        RemovedTemporaries = removed;
    }

    /// <summary>The checkpoint path as the caller gave it.</summary>
    public string Path { get; }

    /// <summary>Temporary files of dead processes that <see cref="Open"/> deleted.</summary>
    public IReadOnlyList<string> RemovedTemporaries { get; }

    /// <summary>Checks and locks <paramref name="path"/>; see the class summary.</summary>
    /// <param name="path">The checkpoint file.</param>
    /// <param name="checkpointBytes">About the size of one checkpoint, written once as a probe (0 only checks that a file can be created).</param>
    /// <exception cref="OutputLockedException">Another live run writes <paramref name="path"/>.</exception>
    /// <exception cref="IOException">The directory is missing, <paramref name="path"/> is a directory, or the disk is full; the message names <paramref name="path"/>.</exception>
    /// <exception cref="UnauthorizedAccessException">The directory is not writable; the message names <paramref name="path"/>.</exception>
    public static TrainingOutput Open(string path, long checkpointBytes)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        // The probe comes first: it gives the clearest message for a missing or read-only directory, which would
        // otherwise surface as a failure to create the lock file.
        AtomicFile.Probe(path, checkpointBytes);
        OutputLock held;
        try
        {
            held = OutputLock.Acquire(path);
        }
        catch (Exception e) when (e is UnauthorizedAccessException or DirectoryNotFoundException)
        {
            throw new IOException($"{path}: cannot create the lock file beside it ({e.Message})", e);
        }
        try
        {
            // Only under the lock: a live writer's temporary file is never taken for a stale one.
            return new TrainingOutput(path, held, AtomicFile.RemoveStaleTemporaries(path));
        }
        catch
        {
            held.Dispose();
            throw;
        }
    }

    /// <summary>Releases the lock.</summary>
    public void Dispose() => _lock.Dispose();
}
