namespace CnnSharp.IO;

/// <summary>
/// Thrown when a safetensors file is malformed or breaks one of the format's rules. The message names the file, the
/// tensor (when one is involved) and the byte offsets, e.g.
/// <c>model.safetensors: tensor 'fc.weight' data_offsets [0, 64) run past the end of the data buffer (40 bytes, file bytes 1288..1328)</c>.
/// </summary>
/// <remarks>
/// Every check runs on the header before any tensor data is read or allocated. An <see cref="IOException"/>
/// (<see cref="InvalidDataException"/> is sealed), so one <c>catch (IOException)</c> covers missing, unreadable and
/// malformed files alike.
/// </remarks>
public sealed class SafeTensorsFormatException : IOException
{
    /// <summary>Creates the exception with a message that names the file, the tensor and the offsets.</summary>
    public SafeTensorsFormatException(string message) : base(message) { }

    /// <summary>Creates an empty exception (for serializers).</summary>
    public SafeTensorsFormatException() { }

    /// <summary>Creates the exception wrapping an inner error (a JSON or I/O error).</summary>
    public SafeTensorsFormatException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>Creates the exception with its structured context.</summary>
    /// <param name="fileName">The file (or source) name.</param>
    /// <param name="tensorName">The offending tensor, or null when the error concerns the whole file.</param>
    /// <param name="byteOffset">Absolute byte offset in the file where the problem lies, or null when none applies.</param>
    /// <param name="message">The full message (it already contains the file, tensor and offset).</param>
    /// <param name="innerException">The underlying error, if any.</param>
    public SafeTensorsFormatException(string fileName, string? tensorName, long? byteOffset, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        FileName = fileName;
        TensorName = tensorName;
        ByteOffset = byteOffset;
    }

    /// <summary>The file (or source) name, when known.</summary>
    public string? FileName { get; }

    /// <summary>The tensor the error concerns, or null when it concerns the whole file.</summary>
    public string? TensorName { get; }

    /// <summary>Absolute byte offset in the file where the problem lies, or null when none applies.</summary>
    public long? ByteOffset { get; }
}
