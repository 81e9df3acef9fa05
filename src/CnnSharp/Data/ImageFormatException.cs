namespace CnnSharp.Data;

/// <summary>
/// An image file cannot be used: not a PNG or JPEG, a corrupt or truncated stream, or dimensions above
/// <see cref="ImageLoader.MaxPixels"/>. The message starts with the file name, e.g.
/// <c>digit.png: not a PNG or JPEG file (starts with 47 49 46 38)</c>.
/// </summary>
/// <remarks>An <see cref="IOException"/>, so one <c>catch (IOException)</c> covers missing, unreadable and malformed files.</remarks>
public sealed class ImageFormatException : IOException
{
    /// <summary>Creates the exception for <paramref name="fileName"/>; the message is <c>"{fileName}: {detail}"</c>.</summary>
    /// <param name="fileName">The file (or source) name.</param>
    /// <param name="detail">What is wrong.</param>
    /// <param name="innerException">The decoder's error, if any.</param>
    public ImageFormatException(string fileName, string detail, Exception? innerException = null)
        : base($"{fileName}: {detail}", innerException)
    {
        FileName = fileName;
    }

    /// <summary>Creates the exception with a message.</summary>
    public ImageFormatException(string message) : base(message) { }

    /// <summary>Creates an empty exception.</summary>
    public ImageFormatException() { }

    /// <summary>Creates the exception wrapping an inner error.</summary>
    public ImageFormatException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>The file (or source) name, when known.</summary>
    public string? FileName { get; }
}
