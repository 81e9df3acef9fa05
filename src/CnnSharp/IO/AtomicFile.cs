namespace CnnSharp.IO;

/// <summary>
/// Writes files atomically: the content goes to a temporary sibling file that is flushed to disk and then renamed over
/// the target, so a crash or an exception never leaves a partial file at the target path and never damages the file
/// that was there before.
/// </summary>
internal static class AtomicFile
{
    /// <summary>Runs <paramref name="write"/> on a temporary file beside <paramref name="path"/>, then renames it to <paramref name="path"/>.</summary>
    /// <remarks>On any exception the temporary file is deleted, the previous file at <paramref name="path"/> is untouched, and the exception propagates.</remarks>
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(write);
        string full = Path.GetFullPath(path);
        string directory = Path.GetDirectoryName(full) ?? throw new ArgumentException($"'{path}' has no parent directory", nameof(path));
        // Same directory, so the final rename stays on one file system (rename(2) is atomic there).
        string temp = Path.Combine(directory, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    private static void TryDelete(string temp)
    {
        try
        {
            File.Delete(temp);
        }
        catch (IOException)
        {
            // The original exception matters more than a leftover temp file.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
