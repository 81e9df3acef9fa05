using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using CnnSharp.Data;

namespace CnnSharp.Tests.TestUtilities;

/// <summary>A minimal PNG encoder for test images: 8-bit gray (1 channel), RGB (3) or RGBA (4), filter 0, zlib via .NET.</summary>
internal static class PngWriter
{
    public static byte[] Encode(int width, int height, int channels, byte[] pixels)
    {
        if (pixels.Length != width * height * channels) throw new ArgumentException("pixel count does not match the size");
        byte colorType = channels switch { 1 => 0, 3 => 2, 4 => 6, _ => throw new ArgumentOutOfRangeException(nameof(channels)) };
        using var png = new MemoryStream();
        png.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = 8;
        header[9] = colorType;
        WriteChunk(png, "IHDR", header);
        using var raw = new MemoryStream();
        using (var z = new ZLibStream(raw, CompressionLevel.Optimal, leaveOpen: true))
        {
            for (int y = 0; y < height; y++)
            {
                z.WriteByte(0);
                z.Write(pixels, y * width * channels, width * channels);
            }
        }
        WriteChunk(png, "IDAT", raw.ToArray());
        WriteChunk(png, "IEND", []);
        return png.ToArray();
    }

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

    private static void WriteChunk(Stream s, string type, byte[] data)
    {
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(length, data.Length);
        s.Write(length);
        byte[] typeAndData = [.. Encoding.ASCII.GetBytes(type), .. data];
        s.Write(typeAndData);
        Span<byte> crc = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(crc, PngStructure.Crc32(typeAndData));
        s.Write(crc);
    }
}
