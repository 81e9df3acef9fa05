using Google.Protobuf;

namespace CnnSharp.Onnx;

/// <summary>Reads ONNX protobuf files with bounded sizes and turns Google.Protobuf's parse errors into <see cref="OnnxFormatException"/>.</summary>
internal static class OnnxProtobuf
{
    /// <summary>Protobuf messages cannot exceed 2 GiB; larger ONNX models keep their weights in external files, which CnnSharp refuses.</summary>
    public const long MaxFileLength = int.MaxValue;

    public static byte[] ReadFile(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var stream = IO.InputFile.OpenRead(path);
        if (stream.Length > MaxFileLength)
            throw new OnnxFormatException(path, $"file is {stream.Length} bytes, above the 2 GiB protobuf limit", null);
        var bytes = new byte[stream.Length];
        stream.ReadExactly(bytes);
        return bytes;
    }

    public static T Parse<T>(MessageParser<T> parser, byte[] bytes, string source, string messageName) where T : IMessage<T>
    {
        try
        {
            // Google.Protobuf's defaults bound nesting (recursion limit 100) and check every length prefix against the
            // remaining input before reading, so a claimed huge field in a small file fails without allocating it.
            return parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new OnnxFormatException(source, $"not a valid ONNX {messageName} ({bytes.Length} bytes): {e.Message}", e);
        }
    }
}
