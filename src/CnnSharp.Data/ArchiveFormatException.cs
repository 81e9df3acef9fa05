namespace CnnSharp.Data;

/// <summary>
/// Thrown when an archive (a Debian <c>.deb</c>, i.e. an <c>ar</c> archive, or the compressed tar inside it) is
/// malformed: the message names the file, the member when known, and the byte offset of the problem.
/// </summary>
/// <remarks>An <see cref="IOException"/>, like <see cref="IdxFormatException"/>, so one <c>catch (IOException)</c> covers every data-file failure.</remarks>
public sealed class ArchiveFormatException : IOException
{
    /// <summary>Creates the exception for <paramref name="fileName"/> at byte <paramref name="offset"/>; the message is <c>"{fileName}: {detail}"</c>.</summary>
    /// <param name="fileName">File name (or "file:member") shown in the message.</param>
    /// <param name="offset">Byte offset in the file where the problem was found, or -1 when unknown.</param>
    /// <param name="detail">What was found and what was expected.</param>
    /// <param name="innerException">The decoder's own error, if any.</param>
    public ArchiveFormatException(string fileName, long offset, string detail, Exception? innerException = null)
        : base($"{fileName}: {detail}", innerException)
    {
        FileName = fileName;
        Offset = offset;
    }

    /// <summary>Creates the exception with a complete message.</summary>
    public ArchiveFormatException(string message) : base(message) { }

    /// <summary>Creates an empty exception (for serializers).</summary>
    public ArchiveFormatException() { }

    /// <summary>Creates the exception wrapping an inner error.</summary>
    public ArchiveFormatException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>The file name, or null when created from a bare message.</summary>
    public string? FileName { get; }

    /// <summary>The byte offset of the problem in the file, or -1 when unknown.</summary>
    public long Offset { get; } = -1;
}
