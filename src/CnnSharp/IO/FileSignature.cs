namespace CnnSharp.IO;

/// <summary>Names the kind of a file from its first bytes, so a loader can say "x.png is a PNG image" rather than report nonsense read from it.</summary>
/// <remarks>
/// Only consulted after a file failed its own format's first checks: some signatures are short (ONNX's is a protobuf
/// tag and a small number) and could begin a valid file of another format.
/// </remarks>
internal static class FileSignature
{
    /// <summary>A phrase for the file kind, e.g. "a PNG image", or null when the bytes match no known signature.</summary>
    /// <param name="head">The file's first bytes (8 are enough; fewer when the file is shorter).</param>
    public static string? Describe(ReadOnlySpan<byte> head) => head switch
    {
        [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A, ..] => "a PNG image",
        [0xFF, 0xD8, 0xFF, ..] => "a JPEG image",
        [(byte)'G', (byte)'I', (byte)'F', (byte)'8', ..] => "a GIF image",
        [(byte)'P', (byte)'K', 0x03 or 0x05, 0x04 or 0x06, ..] =>
            "a zip archive (PyTorch's torch.save format for .pt/.pth files: read it with TorchFile.Read or model.LoadTorchFile)",
        [0x80, >= 2 and <= 5, ..] => "a Python pickle (a legacy PyTorch .pt/.pth file from before PyTorch 1.6; save it again with torch.save or safetensors.torch.save_file)",
        [0x1F, 0x8B, ..] => "a gzip-compressed file",
        [0x00, 0x00, 0x08 or 0x09 or 0x0B or 0x0C or 0x0D or 0x0E, >= 1 and <= 4, ..] => "an IDX data file (such as MNIST images or labels)",
        // ModelProto starts with ir_version (field 1, varint: tag 0x08) and a small version, then another field's tag.
        [0x08, >= 1 and <= 0x7F, 0x12 or 0x1A or 0x22 or 0x28 or 0x32 or 0x3A or 0x42 or 0x72, ..] => "an ONNX model",
        _ => null,
    };
}
