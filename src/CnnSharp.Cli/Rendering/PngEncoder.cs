using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Hashing;

namespace CnnSharp.Cli.Rendering;

/// <summary>
/// Encodes 8-bit grayscale, RGB or RGBA pixels as a PNG file (one IDAT chunk, filter type 0 on every row, deflate by
/// <see cref="ZLibStream"/>, chunk CRCs by <see cref="Crc32"/>): all the charts and pictures need, with no native code.
/// </summary>
internal static class PngEncoder
{
    private static ReadOnlySpan<byte> Signature => [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>The PNG file of <paramref name="pixels"/>: row-major, <paramref name="channels"/> bytes per pixel (1 gray, 3 RGB, 4 RGBA).</summary>
    /// <exception cref="ArgumentException">The size is not positive, the channel count is not 1, 3 or 4, or the pixel count does not match.</exception>
    public static byte[] Encode(int width, int height, int channels, ReadOnlySpan<byte> pixels)
    {
        if (width < 1 || height < 1) throw new ArgumentException($"PNG: the size must be positive, got {width}x{height}");
        byte colorType = channels switch
        {
            1 => 0,
            3 => 2,
            4 => 6,
            _ => throw new ArgumentException($"PNG: 1, 3 or 4 channels, got {channels}", nameof(channels)),
        };
        long rowBytes = (long)width * channels;
        if (pixels.Length != rowBytes * height)
            throw new ArgumentException($"PNG: {width}x{height}x{channels} needs {rowBytes * height} bytes, got {pixels.Length}", nameof(pixels));

        using var png = new MemoryStream();
        png.Write(Signature);
        Span<byte> header = stackalloc byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header[4..], height);
        header[8] = 8; // bit depth
        header[9] = colorType;
        // [10..12]: deflate compression, adaptive filtering, no interlace (all 0).
        WriteChunk(png, "IHDR"u8, header);

        using var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
        {
            for (int y = 0; y < height; y++)
            {
                zlib.WriteByte(0); // filter type None
                zlib.Write(pixels.Slice((int)(y * rowBytes), (int)rowBytes));
            }
        }
        WriteChunk(png, "IDAT"u8, compressed.GetBuffer().AsSpan(0, (int)compressed.Length));
        WriteChunk(png, "IEND"u8, []);
        return png.ToArray();
    }

    private static void WriteChunk(Stream png, ReadOnlySpan<byte> type, ReadOnlySpan<byte> data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, data.Length);
        png.Write(word);
        png.Write(type);
        png.Write(data);
        // The CRC covers the type and the data, not the length.
        var crc = new Crc32();
        crc.Append(type);
        crc.Append(data);
        BinaryPrimitives.WriteUInt32BigEndian(word, crc.GetCurrentHashAsUInt32());
        png.Write(word);
    }
}
