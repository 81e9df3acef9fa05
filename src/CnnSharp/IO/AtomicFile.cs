using System.Diagnostics;
using System.Globalization;

namespace CnnSharp.IO;

/// <summary>
/// Writes files atomically: the content goes to a temporary sibling file that is flushed to disk and then renamed over
/// the target, so a crash or an exception never leaves a partial file at the target path and never damages the file
/// that was there before.
/// </summary>
/// <remarks>
/// <para>Temporary files are named <c>.{name}.{pid}.{random}.tmp</c> beside the target <c>{name}</c>: hidden, recognisable
/// and tagged with the writing process's id, so a file orphaned by a killed process (kill -9 cannot be caught) is found
/// and removed by <see cref="RemoveStaleTemporaries"/> once that process is gone.</para>
/// <para>File-system errors are reported with the caller's path, never the temporary file's name.</para>
/// </remarks>
internal static class AtomicFile
{
    private const string TempSuffix = ".tmp";

    /// <summary>
    /// For fault tests: wraps the stream every write (and <see cref="Probe"/>) in this flow of execution goes to, e.g. to
    /// fail with "no space left on device" after some bytes. Async-local, so parallel tests do not see each other's faults.
    /// </summary>
    internal static readonly AsyncLocal<Func<Stream, Stream>?> FaultInjection = new();

    /// <summary>Runs <paramref name="write"/> on a temporary file beside <paramref name="path"/>, then renames it to <paramref name="path"/>.</summary>
    /// <remarks>On any exception the temporary file is deleted, the previous file at <paramref name="path"/> is untouched, and the exception propagates.</remarks>
    /// <exception cref="IOException">The file system refused (no space, missing directory, ...); the message names <paramref name="path"/>.</exception>
    /// <exception cref="UnauthorizedAccessException">No permission to write beside <paramref name="path"/>; the message names <paramref name="path"/>.</exception>
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(write);
        string full = Path.GetFullPath(path);
        string temp = TempPath(full);
        try
        {
            using (var stream = Open(temp))
            {
                write(stream);
                stream.Flush();
                FlushToDisk(stream);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDelete(temp);
            throw WithUserPath(e, temp, path);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    /// <summary>
    /// Checks, before any real work, that a file of about <paramref name="bytes"/> bytes can be written beside
    /// <paramref name="path"/>: writes a temporary file of that size, flushes it and deletes it. <paramref name="path"/>
    /// itself is not touched.
    /// </summary>
    /// <exception cref="IOException">The directory is missing, <paramref name="path"/> is a directory, or the space ran out; the message names <paramref name="path"/>.</exception>
    /// <exception cref="UnauthorizedAccessException">The directory is not writable; the message names <paramref name="path"/>.</exception>
    public static void Probe(string path, long bytes)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        string full = Path.GetFullPath(path);
        if (Directory.Exists(full))
            throw new IOException($"{path} is a directory; give a file name for the checkpoint");
        string directory = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(directory))
            throw new DirectoryNotFoundException($"{path}: the directory {directory} does not exist");
        string temp = TempPath(full);
        try
        {
            using (var stream = Open(temp))
            {
                var zeros = new byte[(int)Math.Min(bytes, 1 << 16)];
                for (long left = bytes; left > 0; left -= zeros.Length)
                    stream.Write(zeros, 0, (int)Math.Min(left, zeros.Length));
                stream.Flush();
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw WithUserPath(e, temp, path);
        }
        finally
        {
            TryDelete(temp);
        }
    }

    /// <summary>
    /// Deletes the temporary files that writes to <paramref name="path"/> left behind in processes that no longer run
    /// (a kill -9 during a save). Files of running processes, including this one, are kept: they may be mid-write.
    /// </summary>
    /// <returns>The names of the files deleted.</returns>
    public static IReadOnlyList<string> RemoveStaleTemporaries(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string full = Path.GetFullPath(path);
        string directory = Path.GetDirectoryName(full)!;
        string prefix = "." + Path.GetFileName(full) + ".";
        var removed = new List<string>();
        if (!Directory.Exists(directory)) return removed;
        foreach (string file in Directory.EnumerateFiles(directory, prefix + "*" + TempSuffix))
        {
            string name = Path.GetFileName(file);
            // The rest is "{pid}.{random}"; a name that does not parse is someone else's file.
            string rest = name[prefix.Length..^TempSuffix.Length];
            int dot = rest.IndexOf('.', StringComparison.Ordinal);
            if (dot <= 0 || !int.TryParse(rest.AsSpan(0, dot), NumberStyles.None, CultureInfo.InvariantCulture, out int pid)) continue;
            if (pid == Environment.ProcessId || IsRunning(pid)) continue;
            if (TryDelete(file)) removed.Add(name);
        }
        return removed;
    }

    private static string TempPath(string full)
    {
        string directory = Path.GetDirectoryName(full) ?? throw new ArgumentException($"'{full}' has no parent directory", nameof(full));
        // Same directory, so the final rename stays on one file system (rename(2) is atomic there).
        return Path.Combine(directory, $".{Path.GetFileName(full)}.{Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}.{Guid.NewGuid():N}{TempSuffix}");
    }

    private static Stream Open(string temp)
    {
        Stream stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
        return FaultInjection.Value is { } inject ? inject(stream) : stream;
    }

    private static void FlushToDisk(Stream stream)
    {
        if (stream is FileStream file) file.Flush(flushToDisk: true);
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false; // no such process
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    // The file system names the temporary file in its messages; the user knows only the path they asked for.
    private static Exception WithUserPath(Exception e, string temp, string path)
    {
        if (!e.Message.Contains(temp, StringComparison.Ordinal)) return e;
        string message = e.Message.Replace(temp, path, StringComparison.Ordinal);
        return e switch
        {
            UnauthorizedAccessException => new UnauthorizedAccessException(message, e),
            DirectoryNotFoundException => new DirectoryNotFoundException(message, e),
            _ when e.GetType() == typeof(IOException) => new IOException(message, e) { HResult = e.HResult },
            _ => e,
        };
    }

    private static bool TryDelete(string file)
    {
        try
        {
            File.Delete(file);
            return true;
        }
        catch (IOException)
        {
            // The original exception matters more than a leftover temp file.
        }
        catch (UnauthorizedAccessException)
        {
        }
        return false;
    }
}
