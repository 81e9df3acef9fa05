using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;

namespace CnnSharp.Data;

/// <summary>
/// Walks a PNG file's chunks and inflates its pixel data once, with bounded memory, before any decoder sees it; refuses
/// a file whose structure could make the decoder loop, read past the end or allocate more than its header's size needs.
/// </summary>
/// <remarks>
/// <para>Why: stb_image (as ported by StbImageSharp) skips an unknown chunk by seeking its length, read as a signed
/// 32-bit number, so a length of 0xFFFFFFF4 seeks backwards forever; it grows the compressed-data buffer to an IDAT
/// chunk's claimed length (1-2 GB for a 77-byte file); and it inflates into a buffer that doubles without limit.</para>
/// <para>Checked here: the signature; every chunk's length against the bytes that remain, its type (four ASCII
/// letters) and its CRC-32; IHDR first, 13 bytes, with a valid bit depth and colour type pair, compression and filter
/// method 0, interlace 0 or 1, and a size within <see cref="ImageLoader.MaxPixels"/>; no unknown critical chunk; at
/// least one IDAT; IEND present. The concatenated IDAT data must then inflate (zlib) to exactly the number of bytes the
/// header's size, depth, colour type and interlacing need, no fewer (truncated) and no more (stopped at one byte
/// over, so a "zip bomb" costs no more than a valid image of that size).</para>
/// </remarks>
internal static class PngStructure
{
    private static readonly uint[] s_crcTable = BuildCrcTable();

    /// <summary>Validates the structure and returns the image size.</summary>
    /// <exception cref="ImageFormatException">The structure is invalid, unsupported or truncated (the message gives the offset).</exception>
    public static (int Width, int Height) Validate(byte[] bytes, string source)
    {
        int pos = 8, width = 0, height = 0, depth = 0, colorType = 0, interlace = 0;
        bool headerSeen = false;
        var idat = new List<(int Offset, int Length)>();
        while (true)
        {
            if (bytes.Length - pos < 12)
                throw Error(source, $"truncated: the file ends at offset {bytes.Length} before the IEND chunk");
            uint length = BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(pos));
            var type = bytes.AsSpan(pos + 4, 4);
            string name = System.Text.Encoding.ASCII.GetString(type);
            if (!IsChunkType(type)) throw Error(source, $"chunk at offset {pos} has type bytes {Convert.ToHexString(type).ToLowerInvariant()} (not four ASCII letters)");
            if (length > (uint)(bytes.Length - pos - 12))
                throw Error(source, $"truncated or corrupt: chunk {name} at offset {pos} claims {length} bytes, {bytes.Length - pos - 12} remain");
            var data = bytes.AsSpan(pos + 8, (int)length);
            uint crc = BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(pos + 8 + (int)length));
            if (crc != Crc32(bytes.AsSpan(pos + 4, 4 + (int)length)))
                throw Error(source, $"chunk {name} at offset {pos} fails its CRC check (corrupt)");
            if (!headerSeen)
            {
                if (name != "IHDR") throw Error(source, $"the first chunk is {name}, not IHDR");
                if (length != 13) throw Error(source, $"IHDR is {length} bytes long, not 13");
                (width, height, depth, colorType, interlace) = ReadHeader(data, source);
                headerSeen = true;
            }
            else if (name == "IHDR")
            {
                throw Error(source, $"a second IHDR chunk at offset {pos}");
            }
            else if (name == "IDAT")
            {
                idat.Add((pos + 8, (int)length));
            }
            else if (name == "IEND")
            {
                break;
            }
            else if (name != "PLTE" && char.IsAsciiLetterUpper(name[0]))
            {
                throw Error(source, $"unknown critical chunk {name} at offset {pos}");
            }
            pos += 12 + (int)length;
        }
        if (idat.Count == 0) throw Error(source, "has no IDAT chunk (no pixel data)");
        CheckPixelData(bytes, idat, RawLength(width, height, depth, colorType, interlace), source);
        return (width, height);
    }

    private static (int Width, int Height, int Depth, int ColorType, int Interlace) ReadHeader(ReadOnlySpan<byte> h, string source)
    {
        uint width = BinaryPrimitives.ReadUInt32BigEndian(h), height = BinaryPrimitives.ReadUInt32BigEndian(h[4..]);
        int depth = h[8], colorType = h[9];
        ImageLoader.CheckDimensions(source, "PNG", width, height);
        bool valid = colorType switch
        {
            0 => depth is 1 or 2 or 4 or 8 or 16,
            3 => depth is 1 or 2 or 4 or 8,
            2 or 4 or 6 => depth is 8 or 16,
            _ => false,
        };
        if (!valid) throw Error(source, $"bit depth {depth} with colour type {colorType} is not a valid PNG combination");
        if (h[10] != 0 || h[11] != 0) throw Error(source, $"compression method {h[10]}, filter method {h[11]} (both must be 0)");
        if (h[12] > 1) throw Error(source, $"interlace method {h[12]} (must be 0 or 1)");
        return ((int)width, (int)height, depth, colorType, h[12]);
    }

    /// <summary>The length of the filtered scanlines (one filter byte per row, per Adam7 pass when interlaced).</summary>
    private static long RawLength(int width, int height, int depth, int colorType, int interlace)
    {
        int bitsPerPixel = depth * colorType switch { 2 => 3, 4 => 2, 6 => 4, _ => 1 };
        long Rows(long w, long h) => w == 0 || h == 0 ? 0 : h * (1 + (w * bitsPerPixel + 7) / 8);
        if (interlace == 0) return Rows(width, height);
        ReadOnlySpan<int> x0 = [0, 4, 0, 2, 0, 1, 0], dx = [8, 8, 4, 4, 2, 2, 1], y0 = [0, 0, 4, 0, 2, 0, 1], dy = [8, 8, 8, 4, 4, 2, 2];
        long total = 0;
        for (int p = 0; p < 7; p++)
            total += Rows((width - x0[p] + dx[p] - 1) / dx[p], (height - y0[p] + dy[p] - 1) / dy[p]);
        return total;
    }

    /// <summary>Inflates the IDAT data into a small reused buffer, counting bytes; stops one byte past <paramref name="expected"/>.</summary>
    private static void CheckPixelData(byte[] bytes, List<(int Offset, int Length)> idat, long expected, string source)
    {
        using var compressed = new MemoryStream();
        foreach (var (offset, length) in idat) compressed.Write(bytes, offset, length);
        compressed.Position = 0;
        var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        long total = 0;
        try
        {
            using var inflater = new ZLibStream(compressed, CompressionMode.Decompress);
            int read;
            while (total <= expected && (read = inflater.Read(buffer, 0, (int)Math.Min(buffer.Length, expected + 1 - total))) > 0)
                total += read;
        }
        catch (InvalidDataException e)
        {
            throw Error(source, $"compressed pixel data is corrupt ({e.Message})");
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        if (total < expected) throw Error(source, $"truncated: the pixel data inflates to {total} of the {expected} bytes the header's size needs");
        if (total > expected) throw Error(source, $"the pixel data inflates to more than the {expected} bytes the header's size needs");
    }

    private static bool IsChunkType(ReadOnlySpan<byte> type)
    {
        foreach (byte b in type)
            if (!char.IsAsciiLetter((char)b)) return false;
        return true;
    }

    /// <summary>The CRC-32 (ISO 3309, as PNG chunks use) of <paramref name="bytes"/>.</summary>
    internal static uint Crc32(ReadOnlySpan<byte> bytes)
    {
        uint c = 0xFFFFFFFF;
        foreach (byte b in bytes) c = s_crcTable[(c ^ b) & 0xFF] ^ (c >> 8);
        return c ^ 0xFFFFFFFF;
    }

    private static uint[] BuildCrcTable()
    {
        var table = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
            table[n] = c;
        }
        return table;
    }

    private static ImageFormatException Error(string source, string detail) => new(source, "PNG " + detail);
}
