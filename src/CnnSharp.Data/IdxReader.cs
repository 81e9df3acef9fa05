using System.Buffers.Binary;

namespace CnnSharp.Data;

/// <summary>The contents of an IDX file: its dimensions and its unsigned-byte payload in row-major order.</summary>
public sealed class IdxArray
{
    internal IdxArray(Shape shape, byte[] data, int payloadOffset)
    {
        Shape = shape;
        Data = data;
        PayloadOffset = payloadOffset;
    }

    /// <summary>The dimensions from the header, e.g. (60000, 28, 28) for MNIST training images.</summary>
    public Shape Shape { get; }

    /// <summary>The payload, <c>Shape.Numel</c> bytes in row-major order (the last dimension varies fastest).</summary>
    public byte[] Data { get; }

    /// <summary>Byte offset of the payload in the file (the header length, <c>4 + 4 * rank</c>).</summary>
    public int PayloadOffset { get; }
}

/// <summary>
/// Reads IDX files, the container of the MNIST data set, validating every header field against the file's length.
/// </summary>
/// <remarks>
/// <para>Layout (all integers big-endian): two zero bytes; a type code byte (0x08 unsigned byte, 0x09 signed byte,
/// 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64); a rank byte <c>r</c>; <c>r</c> int32 dimensions; then
/// <c>prod(dims)</c> elements in row-major order. MNIST labels have magic 0x00000801 (unsigned byte, rank 1) and
/// images 0x00000803 (unsigned byte, rank 3: count, rows, columns).</para>
/// <para>Only unsigned-byte files are read. Every problem throws <see cref="IdxFormatException"/> naming the file and
/// the byte offset: a file shorter than its header, a bad magic, an unsupported type code, a rank different from the
/// one expected, a dimension that is zero or negative, dimensions whose product exceeds the largest array, and a
/// payload shorter or longer than the product of the dimensions. The payload is allocated only after its size has
/// been checked against the file's length (or, for a stream of unknown length, grown as bytes actually arrive), so a
/// tiny file that claims billions of elements costs nothing.</para>
/// </remarks>
public static class IdxReader
{
    /// <summary>The IDX type code for unsigned bytes, the only one MNIST uses.</summary>
    public const byte UnsignedByteType = 0x08;

    /// <summary>Magic number of an IDX label file (unsigned bytes, rank 1).</summary>
    public const int LabelsMagic = 0x00000801;

    /// <summary>Magic number of an IDX image file (unsigned bytes, rank 3).</summary>
    public const int ImagesMagic = 0x00000803;

    /// <summary>Reads the IDX file at <paramref name="path"/>.</summary>
    /// <param name="path">Path of the (uncompressed) IDX file.</param>
    /// <param name="expectedRank">When set, the rank the file must have (1 for labels, 3 for images); the magic must then equal <c>0x00000800 | expectedRank</c>.</param>
    /// <returns>The dimensions and payload.</returns>
    /// <exception cref="IdxFormatException">The file is malformed; the message names the file and the byte offset.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static IdxArray Read(string path, int? expectedRank = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
        return Read(stream, Path.GetFileName(path), expectedRank);
    }

    /// <summary>Reads an IDX file from <paramref name="stream"/>, from its current position to its end.</summary>
    /// <param name="stream">The data. A seekable stream is checked against its length before any allocation; any other stream is read in bounded chunks.</param>
    /// <param name="fileName">Name used in error messages.</param>
    /// <param name="expectedRank">When set, the rank the file must have (1 for labels, 3 for images).</param>
    /// <returns>The dimensions and payload.</returns>
    /// <exception cref="IdxFormatException">The data is malformed; the message names the file and the byte offset.</exception>
    public static IdxArray Read(Stream stream, string fileName, int? expectedRank = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(fileName);
        if (expectedRank is int er && (er < 1 || er > 255))
            throw new ArgumentOutOfRangeException(nameof(expectedRank), er, "an IDX rank is 1 to 255");

        long? available = stream.CanSeek ? stream.Length - stream.Position : null;

        Span<byte> magicBytes = stackalloc byte[4];
        int got = stream.ReadAtLeast(magicBytes, 4, throwOnEndOfStream: false);
        if (got < 4)
            throw new IdxFormatException(fileName, got,
                $"truncated header at offset {got}: the file has {got} bytes, expected a 4-byte magic at offset 0");

        int magic = BinaryPrimitives.ReadInt32BigEndian(magicBytes);
        byte type = magicBytes[2];
        int rank = magicBytes[3];
        string expectedMagic = expectedRank is int r0 ? $"0x{0x800 | r0:X8}" : "0x000008RR (two zero bytes, type 0x08, rank RR >= 1)";
        if (magicBytes[0] != 0 || magicBytes[1] != 0 || TypeName(type) is null || rank == 0)
            throw new IdxFormatException(fileName, 0, $"bad magic 0x{magic:X8} at offset 0, expected {expectedMagic}");
        if (type != UnsignedByteType)
            throw new IdxFormatException(fileName, 2,
                $"unsupported element type 0x{type:X2} ({TypeName(type)}) at offset 2 (magic 0x{magic:X8}), expected 0x08 (unsigned byte)");
        if (expectedRank is int r1 && rank != r1)
            throw new IdxFormatException(fileName, 0,
                $"bad magic 0x{magic:X8} at offset 0, expected {expectedMagic} (rank {rank} at offset 3, expected {r1})");

        int dimsLength = 4 * rank;
        int headerLength = 4 + dimsLength;
        Span<byte> dimBytes = stackalloc byte[dimsLength];
        got = stream.ReadAtLeast(dimBytes, dimsLength, throwOnEndOfStream: false);
        if (got < dimsLength)
            throw new IdxFormatException(fileName, 4 + got,
                $"truncated header at offset {4 + got}: rank {rank} needs a {headerLength}-byte header, the file ends after {4 + got} bytes");

        var dims = new int[rank];
        long product = 1;
        bool tooLarge = false;
        for (int i = 0; i < rank; i++)
        {
            int d = BinaryPrimitives.ReadInt32BigEndian(dimBytes[(4 * i)..]);
            if (d <= 0)
                throw new IdxFormatException(fileName, 4 + 4 * i,
                    $"dimension {i} is {d} at offset {4 + 4 * i}, expected a positive size");
            dims[i] = d;
            // product <= Array.MaxLength < 2^31 before the multiply and d < 2^31, so the long cannot overflow.
            if (!tooLarge)
            {
                product *= d;
                tooLarge = product > Array.MaxLength;
            }
        }
        string dimsText = Shape.Format(dims);
        if (tooLarge)
            throw new IdxFormatException(fileName, 4,
                $"dimensions {dimsText} at offset 4 describe more than {Array.MaxLength} bytes, the largest array");

        int need = (int)product;
        byte[] data;
        if (available is long total)
        {
            long payload = total - headerLength;
            if (payload < need)
                throw Truncated(fileName, headerLength, payload, need, dimsText);
            if (payload > need)
                throw Trailing(fileName, headerLength, need, dimsText, $"{payload - need} trailing bytes");
            data = GC.AllocateUninitializedArray<byte>(need);
            int read = stream.ReadAtLeast(data, need, throwOnEndOfStream: false);
            if (read < need)
                throw Truncated(fileName, headerLength, read, need, dimsText); // the file shrank while being read
        }
        else
        {
            data = ReadBounded(stream, need, fileName, headerLength, dimsText);
        }

        if (stream.ReadByte() != -1)
            throw Trailing(fileName, headerLength, need, dimsText, "trailing data");
        return new IdxArray(new Shape(dims), data, headerLength);
    }

    /// <summary>Reads an MNIST-style label file: magic 0x00000801, one unsigned byte per sample.</summary>
    /// <param name="path">Path of the uncompressed file.</param>
    /// <returns>The labels, one byte per sample.</returns>
    /// <exception cref="IdxFormatException">The file is malformed or is not a rank-1 unsigned-byte file.</exception>
    public static byte[] ReadLabels(string path) => Read(path, expectedRank: 1).Data;

    /// <summary>Reads an MNIST-style image file: magic 0x00000803, dimensions (count, rows, columns).</summary>
    /// <param name="path">Path of the uncompressed file.</param>
    /// <returns>The dimensions and the pixels, <c>count * rows * columns</c> bytes.</returns>
    /// <exception cref="IdxFormatException">The file is malformed or is not a rank-3 unsigned-byte file.</exception>
    public static IdxArray ReadImages(string path) => Read(path, expectedRank: 3);

    private static string? TypeName(byte type) => type switch
    {
        0x08 => "unsigned byte",
        0x09 => "signed byte",
        0x0B => "int16",
        0x0C => "int32",
        0x0D => "float32",
        0x0E => "float64",
        _ => null,
    };

    private static IdxFormatException Truncated(string fileName, int headerLength, long payload, int need, string dims) =>
        new(fileName, headerLength + payload,
            $"truncated payload at offset {headerLength + payload}: dimensions {dims} need {need} bytes after the " +
            $"{headerLength}-byte header, the file has {payload}");

    private static IdxFormatException Trailing(string fileName, int headerLength, int need, string dims, string what) =>
        new(fileName, headerLength + (long)need,
            $"{what} at offset {headerLength + (long)need}: dimensions {dims} need exactly {need} bytes after the " +
            $"{headerLength}-byte header");

    /// <summary>Reads exactly <paramref name="need"/> bytes from a stream of unknown length, growing the buffer only as data arrives.</summary>
    private static byte[] ReadBounded(Stream stream, int need, string fileName, int headerLength, string dims)
    {
        var buffer = GC.AllocateUninitializedArray<byte>(Math.Min(need, 1 << 16));
        int filled = 0;
        while (filled < need)
        {
            if (filled == buffer.Length)
                Array.Resize(ref buffer, (int)Math.Min(need, 2L * buffer.Length));
            int n = stream.Read(buffer, filled, buffer.Length - filled);
            if (n == 0)
                throw Truncated(fileName, headerLength, filled, need, dims);
            filled += n;
        }
        return buffer;
    }
}
