namespace CnnSharp.Data;

/// <summary>
/// Thrown when a data file's SHA-256 differs from the published one, e.g. a truncated or altered download.
/// The message names the file and both digests.
/// </summary>
/// <remarks>An <see cref="IOException"/>, like <see cref="IdxFormatException"/>.</remarks>
public sealed class ChecksumMismatchException : IOException
{
    /// <summary>Creates the exception for <paramref name="fileName"/> with the expected and actual SHA-256 (lowercase hex).</summary>
    /// <param name="fileName">File name or path shown in the message.</param>
    /// <param name="expectedSha256">The published digest.</param>
    /// <param name="actualSha256">The digest of the bytes found.</param>
    public ChecksumMismatchException(string fileName, string expectedSha256, string actualSha256)
        : base($"{fileName}: SHA-256 mismatch, expected {expectedSha256} but the file has {actualSha256}; " +
               "the file is corrupt or not the expected one: delete it to fetch it again")
    {
        FileName = fileName;
        ExpectedSha256 = expectedSha256;
        ActualSha256 = actualSha256;
    }

    /// <summary>Creates the exception with a complete message.</summary>
    public ChecksumMismatchException(string message) : base(message) { }

    /// <summary>Creates an empty exception (for serializers).</summary>
    public ChecksumMismatchException() { }

    /// <summary>Creates the exception wrapping an inner error.</summary>
    public ChecksumMismatchException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>The file name or path, or null when created from a bare message.</summary>
    public string? FileName { get; }

    /// <summary>The published SHA-256 (lowercase hex), or null when created from a bare message.</summary>
    public string? ExpectedSha256 { get; }

    /// <summary>The SHA-256 of the bytes found (lowercase hex), or null when created from a bare message.</summary>
    public string? ActualSha256 { get; }
}
