using System.Text;

namespace CnnSharp.Data;

/// <summary>One member of an <c>ar</c> archive: its name and where its bytes lie in the archive.</summary>
/// <param name="Name">The member name, without GNU's trailing '/' and the space padding.</param>
/// <param name="HeaderOffset">Offset of the member's 60-byte header.</param>
/// <param name="DataOffset">Offset of the member's first data byte.</param>
/// <param name="Size">Number of data bytes (checked to lie inside the archive).</param>
internal readonly record struct ArMember(string Name, long HeaderOffset, long DataOffset, long Size);

/// <summary>
/// Reads the member table of a Unix <c>ar</c> archive, the container of a Debian <c>.deb</c> package.
/// </summary>
/// <remarks>
/// Layout: the 8-byte magic <c>!&lt;arch&gt;\n</c>, then per member a 60-byte ASCII header (name 16, mtime 12,
/// uid 6, gid 6, mode 8, size 10 decimal, terminator <c>`\n</c>) followed by <c>size</c> data bytes and one padding
/// byte when <c>size</c> is odd. Every header field used is validated and every size is checked against the bytes that
/// remain in the stream before anything relies on it, so a truncated archive or one whose sizes lie fails with an
/// <see cref="ArchiveFormatException"/> naming the offset; nothing is allocated from a size the archive claims.
/// </remarks>
internal static class ArArchive
{
    /// <summary>The global header of every ar archive.</summary>
    public static ReadOnlySpan<byte> Magic => "!<arch>\n"u8;

    /// <summary>Size of a member header.</summary>
    public const int HeaderSize = 60;

    // The longest decimal size field (10 digits) is below 10^10, so a long never overflows while parsing.
    private const int SizeFieldOffset = 48, SizeFieldLength = 10, TerminatorOffset = 58;

    /// <summary>Reads the member headers of the archive in <paramref name="stream"/> (seekable; the archive starts at offset 0), skipping the data.</summary>
    /// <param name="stream">The archive; its length bounds every size.</param>
    /// <param name="fileName">Name used in error messages.</param>
    /// <returns>The members in archive order.</returns>
    /// <exception cref="ArchiveFormatException">Bad magic, a truncated header, a bad terminator or size field, or a size past the end of the archive.</exception>
    public static List<ArMember> ReadMembers(Stream stream, string fileName)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.CanSeek)
            throw new ArgumentException("the ar reader needs a seekable stream", nameof(stream));
        long length = stream.Length;
        stream.Position = 0;
        Span<byte> header = stackalloc byte[HeaderSize];

        if (length < Magic.Length || stream.ReadAtLeast(header[..Magic.Length], Magic.Length, throwOnEndOfStream: false) < Magic.Length
            || !header[..Magic.Length].SequenceEqual(Magic))
            throw new ArchiveFormatException(fileName, 0, "not an ar archive (a .deb starts with \"!<arch>\\n\" at offset 0)");

        var members = new List<ArMember>();
        long position = Magic.Length;
        // position may pass length by the one padding byte of a final odd-sized member that a writer left out.
        while (position < length)
        {
            if (length - position < HeaderSize)
                throw new ArchiveFormatException(fileName, position,
                    $"truncated member header at offset {position}: {length - position} bytes left, a header has {HeaderSize}");
            stream.Position = position;
            stream.ReadExactly(header);
            if (header[TerminatorOffset] != (byte)'`' || header[TerminatorOffset + 1] != (byte)'\n')
                throw new ArchiveFormatException(fileName, position + TerminatorOffset,
                    $"bad member header terminator at offset {position + TerminatorOffset}, expected \"`\\n\"");
            string name = Encoding.ASCII.GetString(header[..16]).TrimEnd(' ');
            if (name.Length > 1 && name.EndsWith('/'))
                name = name[..^1];
            long size = ParseSize(header.Slice(SizeFieldOffset, SizeFieldLength), fileName, position + SizeFieldOffset);
            long dataOffset = position + HeaderSize;
            if (size > length - dataOffset)
                throw new ArchiveFormatException(fileName, position + SizeFieldOffset,
                    $"member \"{name}\" at offset {position} claims {size} bytes but only {length - dataOffset} remain");
            members.Add(new ArMember(name, position, dataOffset, size));
            position = dataOffset + size + (size & 1);
        }
        return members;
    }

    /// <summary>A read-only stream over the data of <paramref name="member"/> (the archive stream is shared, not owned).</summary>
    public static SliceStream Open(Stream archive, ArMember member) => new(archive, member.DataOffset, member.Size);

    private static long ParseSize(ReadOnlySpan<byte> field, string fileName, long offset)
    {
        int digits = 0;
        long value = 0;
        while (digits < field.Length && field[digits] is >= (byte)'0' and <= (byte)'9')
            value = value * 10 + (field[digits++] - '0');
        bool restBlank = field[digits..].IndexOfAnyExcept((byte)' ') < 0;
        if (digits == 0 || !restBlank)
            throw new ArchiveFormatException(fileName, offset,
                $"bad member size field \"{Encoding.ASCII.GetString(field).Trim()}\" at offset {offset}, expected decimal digits padded with spaces");
        return value;
    }
}
