using System.Buffers.Binary;
using CnnSharp.Data;

namespace CnnSharp.Tests.TestUtilities;

/// <summary>PNG test images: 8-bit gray (1 channel), RGB (3) or RGBA (4), encoded by the CLI's <c>PngEncoder</c>.</summary>
internal static class PngWriter
{
    /// <summary>The CLI's encoder (the one <c>cnnsharp plot</c> and <c>visualize</c> write with).</summary>
    public static byte[] Encode(int width, int height, int channels, byte[] pixels) => CnnSharp.Cli.Rendering.PngEncoder.Encode(width, height, channels, pixels);

    public static byte[] Gray(int width, int height, Func<int, int, byte> pixel)
    {
        var pixels = new byte[width * height];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++) pixels[y * width + x] = pixel(x, y);
        return Encode(width, height, 1, pixels);
    }

    /// <summary>Recomputes the CRC of the chunk at <paramref name="offset"/> of <paramref name="png"/> after a test edited it.</summary>
    public static void RewriteCrc(byte[] png, int offset)
    {
        int length = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(offset));
        BinaryPrimitives.WriteUInt32BigEndian(png.AsSpan(offset + 8 + length), PngStructure.Crc32(png.AsSpan(offset + 4, 4 + length)));
    }
}
