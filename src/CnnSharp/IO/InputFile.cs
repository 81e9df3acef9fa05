namespace CnnSharp.IO;

/// <summary>Opens a file the library reads, with errors that say what is wrong with the path.</summary>
internal static class InputFile
{
    /// <summary>Opens <paramref name="path"/> for sequential reading (shared read).</summary>
    /// <exception cref="FileNotFoundException">No file (or no directory on the way) at <paramref name="path"/>: "x: file not found".</exception>
    /// <exception cref="IOException">The path is a directory: "x is a directory, expected a file" (the OS says only "access denied").</exception>
    /// <exception cref="UnauthorizedAccessException">The file exists but may not be read.</exception>
    public static FileStream OpenRead(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        }
        catch (UnauthorizedAccessException e) when (Directory.Exists(path))
        {
            throw new IOException($"{path} is a directory, expected a file", e);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new FileNotFoundException($"{path}: file not found", path, e);
        }
    }
}
