namespace CnnSharp.IO;

/// <summary>
/// Thrown when a PyTorch <c>.pt</c>/<c>.pth</c> file cannot be read as a <c>torch.save</c> state dict: not a zip archive
/// of that layout, a malformed or unsupported pickle, a storage missing or of the wrong size, a tensor whose shape and
/// strides reach past its storage. The message names the file, the archive entry and the byte offset, e.g.
/// <c>model.pt: archive/data.pkl offset 142: memo index 200 was never stored</c>.
/// </summary>
/// <remarks>
/// Every claim of the file (string lengths, storage sizes, shapes) is checked before memory is allocated for it. A
/// pickle that would run code is reported as the derived <see cref="UnsafePickleException"/>. An
/// <see cref="IOException"/>, so one <c>catch (IOException)</c> covers missing, unreadable and malformed files alike.
/// </remarks>
public class TorchFormatException : IOException
{
    /// <summary>Creates the exception with a message that names the file, the entry and the offset.</summary>
    public TorchFormatException(string message) : base(message) { }

    /// <summary>Creates an empty exception (for serializers).</summary>
    public TorchFormatException() { }

    /// <summary>Creates the exception wrapping an inner error.</summary>
    public TorchFormatException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>Creates the exception with its structured context; the message is prefixed with them.</summary>
    /// <param name="fileName">The file (or source) name.</param>
    /// <param name="entry">The archive entry the error concerns (<c>archive/data.pkl</c>, <c>archive/data/3</c>), or null.</param>
    /// <param name="offset">Byte offset inside <paramref name="entry"/>, or null when none applies.</param>
    /// <param name="problem">What is wrong, without the file and offset.</param>
    /// <param name="innerException">The underlying error, if any.</param>
    public TorchFormatException(string fileName, string? entry, long? offset, string problem, Exception? innerException = null)
        : base(Compose(fileName, entry, offset, problem), innerException)
    {
        FileName = fileName;
        Entry = entry;
        Offset = offset;
    }

    /// <summary>The file (or source) name, when known.</summary>
    public string? FileName { get; }

    /// <summary>The archive entry the error concerns, or null when it concerns the whole file.</summary>
    public string? Entry { get; }

    /// <summary>Byte offset inside <see cref="Entry"/> (for the pickle: of the opcode), or null when none applies.</summary>
    public long? Offset { get; }

    private static string Compose(string fileName, string? entry, long? offset, string problem) =>
        entry is null ? $"{fileName}: {problem}"
        : offset is null ? $"{fileName}: {entry}: {problem}"
        : $"{fileName}: {entry} offset {offset}: {problem}";
}
