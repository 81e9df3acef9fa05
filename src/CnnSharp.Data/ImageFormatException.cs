namespace CnnSharp.Data;

/// <summary>
/// An image file cannot be used: not a PNG or JPEG, a corrupt or truncated stream, or dimensions above
/// <see cref="ImageLoader.MaxPixels"/>. The message starts with the file name, e.g.
/// <c>digit.png: not a PNG or JPEG file (starts with 47 49 46 38)</c>.
/// </summary>
/// <remarks>An <see cref="IOException"/>, so one <c>catch (IOException)</c> covers missing, unreadable and malformed files.
/// Control characters in the message (a NUL from a decoder, a newline in a file name) are written as <c>\xNN</c>
/// escapes, so the message is always one printable line.</remarks>
public sealed class ImageFormatException : IOException
{
    /// <summary>Creates the exception for <paramref name="fileName"/>; the message is <c>"{fileName}: {detail}"</c>.</summary>
    /// <param name="fileName">The file (or source) name.</param>
    /// <param name="detail">What is wrong.</param>
    /// <param name="innerException">The decoder's error, if any.</param>
    public ImageFormatException(string fileName, string detail, Exception? innerException = null)
        : base(Printable($"{fileName}: {detail}"), innerException)
    {
        FileName = fileName;
    }

    /// <summary>Creates the exception with a message.</summary>
    public ImageFormatException(string message) : base(Printable(message)) { }

    /// <summary>Creates an empty exception.</summary>
    public ImageFormatException() { }

    /// <summary>Creates the exception wrapping an inner error.</summary>
    public ImageFormatException(string message, Exception innerException) : base(Printable(message), innerException) { }

    /// <summary>The file (or source) name, when known.</summary>
    public string? FileName { get; }

    private static string Printable(string text)
    {
        if (!text.Any(char.IsControl)) return text;
        var builder = new System.Text.StringBuilder(text.Length + 8);
        foreach (char c in text)
            builder.Append(!char.IsControl(c) ? c.ToString() : c < 0x100 ? $"\\x{(int)c:x2}" : $"\\u{(int)c:x4}");
        return builder.ToString();
    }
}
