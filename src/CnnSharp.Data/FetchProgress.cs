namespace CnnSharp.Data;

/// <summary>What a <see cref="FetchProgress"/> report says about a file and a source.</summary>
public enum FetchStage
{
    /// <summary>A source is being tried for the file.</summary>
    Started,

    /// <summary>Bytes are arriving; <see cref="FetchProgress.BytesReceived"/> has the count so far.</summary>
    Downloading,

    /// <summary>The file is in place and its SHA-256 matched.</summary>
    Completed,

    /// <summary>This source failed for the file; <see cref="FetchProgress.Error"/> says why. The next source is tried.</summary>
    Failed,
}

/// <summary>A progress report from <see cref="MnistFetcher"/>, for a console or log to render.</summary>
public sealed class FetchProgress
{
    /// <summary>Creates a report.</summary>
    /// <param name="fileName">The MNIST file concerned (uncompressed name).</param>
    /// <param name="source">Where it comes from: a URL or the package name.</param>
    /// <param name="stage">What happened.</param>
    /// <param name="bytesReceived">Bytes received so far from the source (compressed bytes for a download).</param>
    /// <param name="totalBytes">Total bytes expected from the source, when known.</param>
    /// <param name="error">Why the source failed, for <see cref="FetchStage.Failed"/>.</param>
    public FetchProgress(string fileName, string source, FetchStage stage, long bytesReceived = 0, long? totalBytes = null, string? error = null)
    {
        FileName = fileName;
        Source = source;
        Stage = stage;
        BytesReceived = bytesReceived;
        TotalBytes = totalBytes;
        Error = error;
    }

    /// <summary>The MNIST file concerned (uncompressed name).</summary>
    public string FileName { get; }

    /// <summary>Where it comes from: a URL or the package name.</summary>
    public string Source { get; }

    /// <summary>What happened.</summary>
    public FetchStage Stage { get; }

    /// <summary>Bytes received so far from the source.</summary>
    public long BytesReceived { get; }

    /// <summary>Total bytes expected from the source, when known.</summary>
    public long? TotalBytes { get; }

    /// <summary>Why the source failed, for <see cref="FetchStage.Failed"/>; otherwise null.</summary>
    public string? Error { get; }

    /// <inheritdoc/>
    public override string ToString() => Stage switch
    {
        FetchStage.Downloading when TotalBytes is long total => $"{FileName}: {BytesReceived}/{total} bytes from {Source}",
        FetchStage.Downloading => $"{FileName}: {BytesReceived} bytes from {Source}",
        FetchStage.Failed => $"{FileName}: {Source} failed: {Error}",
        _ => $"{FileName}: {Stage} ({Source})",
    };
}
