using System.Security.Cryptography;

namespace CnnSharp.Data;

/// <summary>One file of a fetched data set: its name, the SHA-256 of its uncompressed bytes and its length.</summary>
internal readonly record struct DataFile(string Name, string Sha256, long Length);

/// <summary>
/// The fetch, verify and load steps that MNIST and Fashion-MNIST share: both are four IDX files in one directory,
/// each checked against a published SHA-256, written atomically (temporary file, then rename).
/// </summary>
internal static class DataFiles
{
    /// <summary>The data directory rule: the variable's value (plus <paramref name="subdirectory"/> when given) when set, else <c>~/.cache/cnnsharp/{name}</c>.</summary>
    public static string ResolveDirectory(string? variable, string home, string name, string? subdirectory) =>
        string.IsNullOrWhiteSpace(variable)
            ? Path.Combine(home, ".cache", "cnnsharp", name)
            : subdirectory is null ? Path.GetFullPath(variable) : Path.GetFullPath(Path.Combine(variable, subdirectory));

    /// <summary>The files of <paramref name="files"/> that do not exist in <paramref name="directory"/>.</summary>
    public static List<DataFile> Missing(string directory, IEnumerable<DataFile> files) =>
        files.Where(f => !File.Exists(Path.Combine(directory, f.Name))).ToList();

    /// <summary>Verifies the four files (train images, train labels, test images, test labels) and loads them.</summary>
    /// <exception cref="ChecksumMismatchException">A file's SHA-256 differs from the published one.</exception>
    /// <exception cref="IdxFormatException">A file is malformed or its images are not <paramref name="imageSize"/> square.</exception>
    public static MnistData LoadVerified(string directory, IReadOnlyList<DataFile> files, int imageSize)
    {
        foreach (var file in files)
            VerifyChecksum(Path.Combine(directory, file.Name), file.Sha256);
        var train = MnistDataset.FromFiles(Path.Combine(directory, files[0].Name), Path.Combine(directory, files[1].Name));
        var test = MnistDataset.FromFiles(Path.Combine(directory, files[2].Name), Path.Combine(directory, files[3].Name));
        CheckImageSize(train, files[0].Name, imageSize);
        CheckImageSize(test, files[2].Name, imageSize);
        return new MnistData(train, test);
    }

    /// <summary>Throws <see cref="ChecksumMismatchException"/> unless the SHA-256 of the file at <paramref name="path"/> is <paramref name="expectedSha256"/>.</summary>
    public static void VerifyChecksum(string path, string expectedSha256)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        string actual = Convert.ToHexStringLower(SHA256.HashData(stream));
        if (actual != expectedSha256)
            throw new ChecksumMismatchException(path, expectedSha256, actual);
    }

    private static void CheckImageSize(MnistDataset set, string fileName, int size)
    {
        if (set.Rows != size || set.Columns != size)
            throw new IdxFormatException(fileName, 8,
                $"images are {set.Rows}x{set.Columns} (dimensions at offset 8), expected {size}x{size}");
    }

    /// <summary>
    /// Copies <paramref name="source"/> into a temporary file next to the target while hashing it, checks the length
    /// and SHA-256, then renames the temporary file onto the target (replacing it). The temporary file is removed on failure.
    /// </summary>
    /// <exception cref="ChecksumMismatchException">The data's SHA-256 is not the published one.</exception>
    /// <exception cref="InvalidDataException">The data is longer than the file should be.</exception>
    public static void WriteVerified(string directory, DataFile file, Stream source, string sourceName, CancellationToken cancellationToken)
    {
        string temp = TempPath(directory, file.Name);
        try
        {
            string actual;
            using (var output = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            using (var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256))
            {
                var buffer = new byte[1 << 16];
                long total = 0;
                int n;
                while ((n = source.Read(buffer)) > 0)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    total += n;
                    if (total > file.Length)
                        throw new InvalidDataException($"{sourceName}: more than the {file.Length} bytes {file.Name} has");
                    hash.AppendData(buffer, 0, n);
                    output.Write(buffer, 0, n);
                }
                output.Flush(flushToDisk: true);
                actual = Convert.ToHexStringLower(hash.GetHashAndReset());
            }
            if (actual != file.Sha256)
                throw new ChecksumMismatchException(sourceName, file.Sha256, actual);
            File.Move(temp, Path.Combine(directory, file.Name), overwrite: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    /// <summary>A unique temporary name in <paramref name="directory"/>, hidden and tagged with the process id.</summary>
    public static string TempPath(string directory, string name) =>
        Path.Combine(directory, $".{name}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");

    /// <summary>A fresh, empty directory under the system's temporary directory.</summary>
    public static string TempDirectory(string prefix)
    {
        string work = Path.Combine(Path.GetTempPath(), prefix + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(work);
        return work;
    }

    public static void TryDelete(string path)
    {
        try { File.Delete(path); }
        catch (IOException) { /* best effort: a stale temp file never shadows a real one */ }
        catch (UnauthorizedAccessException) { /* same */ }
    }

    public static void TryDeleteDirectory(string path)
    {
        try { Directory.Delete(path, recursive: true); }
        catch (IOException) { /* a leftover temp directory is harmless */ }
        catch (UnauthorizedAccessException) { /* same */ }
    }
}
