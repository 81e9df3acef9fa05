namespace CnnSharp.Onnx;

/// <summary>
/// Thrown when an ONNX model or tensor file is malformed or uses something CnnSharp does not accept (external data,
/// an unsupported data type, a graph edge that nothing produces, a cycle). The message names the file and the
/// graph element, e.g. <c>model.onnx: initializer 'fc.weight': raw_data has 40 bytes but FLOAT (10, 2) needs 80</c>.
/// </summary>
/// <remarks>An <see cref="IOException"/> (<see cref="InvalidDataException"/> is sealed), so one <c>catch (IOException)</c>
/// covers missing, unreadable and malformed model files alike.</remarks>
public sealed class OnnxFormatException : IOException
{
    /// <summary>Creates the exception with a message that names the file and the element.</summary>
    public OnnxFormatException(string message) : base(message) { }

    /// <summary>Creates an empty exception (for serializers).</summary>
    public OnnxFormatException() { }

    /// <summary>Creates the exception wrapping an inner error (e.g. Google.Protobuf's parse error).</summary>
    public OnnxFormatException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>Creates the exception for <paramref name="fileName"/>; the message is <c>"{fileName}: {detail}"</c>.</summary>
    /// <param name="fileName">The file (or source) name.</param>
    /// <param name="detail">What is wrong and where (node, initializer, attribute).</param>
    /// <param name="innerException">The underlying error, if any.</param>
    public OnnxFormatException(string fileName, string detail, Exception? innerException)
        : base($"{fileName}: {detail}", innerException)
    {
        FileName = fileName;
    }

    /// <summary>The file (or source) name, when known.</summary>
    public string? FileName { get; }
}
