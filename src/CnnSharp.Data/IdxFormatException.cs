namespace CnnSharp.Data;

/// <summary>
/// Thrown when an IDX file (the MNIST container format) is malformed. The message names the file, the byte offset
/// and what was expected, e.g. <c>train-images-idx3-ubyte: bad magic 0x00000000 at offset 0, expected 0x00000803</c>.
/// </summary>
/// <remarks>An <see cref="IOException"/> (<see cref="InvalidDataException"/> is sealed), so one <c>catch (IOException)</c>
/// covers missing, unreadable, malformed and corrupt data files alike.</remarks>
public sealed class IdxFormatException : IOException
{
    /// <summary>Creates the exception for <paramref name="fileName"/> at byte <paramref name="offset"/>; the message is <c>"{fileName}: {detail}"</c>.</summary>
    /// <param name="fileName">File name (without directory) shown in the message.</param>
    /// <param name="offset">Byte offset in the file where the problem was found.</param>
    /// <param name="detail">What was found and what was expected; it must mention the offset.</param>
    public IdxFormatException(string fileName, long offset, string detail)
        : base($"{fileName}: {detail}")
    {
        FileName = fileName;
        Offset = offset;
    }

    /// <summary>Creates the exception with a complete message.</summary>
    public IdxFormatException(string message) : base(message) { }

    /// <summary>Creates an empty exception (for serializers).</summary>
    public IdxFormatException() { }

    /// <summary>Creates the exception wrapping an inner error.</summary>
    public IdxFormatException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>The file name (without directory), or null when the exception was created from a bare message.</summary>
    public string? FileName { get; }

    /// <summary>The byte offset of the problem in the file, or -1 when unknown.</summary>
    public long Offset { get; } = -1;
}
