using System.Buffers.Binary;

namespace CnnSharp.Data;

/// <summary>
/// Walks a JPEG file's marker segments before any decoder sees it, and refuses a file whose structure could make
/// the decoder loop, read past the end or do work out of proportion to the file's size.
/// </summary>
/// <remarks>
/// <para>Why: stb_image (as ported by StbImageSharp) skips a segment by seeking <c>length - 2</c> bytes, so a length
/// of 0 or 1 seeks backwards and re-reads the same header forever, and a length past the end leaves the stream beyond
/// its end, where "at end of file" is never true again (the 46 fuzzed hangs). Every segment stb_image parses is
/// checked here first, with the same framing: a big-endian length of at least 2 that fits in the remaining bytes.</para>
/// <para>Accepted: SOI, then tables (DQT, DHT, DRI), APPn and COM segments, exactly one baseline, extended or
/// progressive 8-bit frame (SOF0/1/2) with 1, 3 or 4 components, one or more scans (at most <see cref="MaxScans"/>),
/// each followed by its entropy-coded data, and EOI. A file that ends before EOI is truncated. For sequential frames,
/// a scan's data must hold at least two bits per 8x8 block it covers (one for the shortest DC code, one for the
/// shortest end-of-block code), and for progressive frames every component needs a DC scan (before its AC scans) of
/// at least one bit per block. This rejects a small file whose header claims a large image (the decoder would pad the
/// missing data with zeros and classify an image that is not there) and bounds the decoder's work by the file's size:
/// at most 8 blocks per byte, times <see cref="MaxScans"/>.</para>
/// </remarks>
internal static class JpegStructure
{
    /// <summary>The most scans a file may have: a progressive photo uses about 10; each scan re-walks the image.</summary>
    public const int MaxScans = 100;

    private const byte Sof0 = 0xC0, Sof1 = 0xC1, Sof2 = 0xC2, Dht = 0xC4, Soi = 0xD8, Eoi = 0xD9, Sos = 0xDA, Dqt = 0xDB, Dri = 0xDD, Com = 0xFE;

    private readonly record struct Component(int Id, int H, int V);

    /// <summary>Validates the structure and returns the frame's size (checked against <see cref="ImageLoader.MaxPixels"/>).</summary>
    /// <exception cref="ImageFormatException">The structure is invalid, unsupported or truncated (the message gives the offset).</exception>
    public static (int Width, int Height) Validate(ReadOnlySpan<byte> bytes, string source)
    {
        if (bytes.Length < 4 || bytes[0] != 0xFF || bytes[1] != Soi)
            throw Error(source, "does not start with the SOI marker");
        int pos = 2, scans = 0, width = 0, height = 0, hMax = 0, vMax = 0;
        bool sequential = false;
        Component[]? components = null;
        bool[] dcCoded = [];
        while (true)
        {
            if (pos >= bytes.Length) throw Error(source, $"truncated: the file ends at offset {pos} before the EOI marker");
            if (bytes[pos] != 0xFF) throw Error(source, $"expected a marker at offset {pos}, found byte 0x{bytes[pos]:x2}");
            while (pos < bytes.Length && bytes[pos] == 0xFF) pos++;  // fill bytes before a marker are allowed
            if (pos >= bytes.Length) throw Error(source, "truncated: the file ends inside a marker, before EOI");
            int markerOffset = pos - 1;
            byte marker = bytes[pos++];
            if (marker == Eoi)
            {
                if (scans == 0) throw Error(source, $"EOI at offset {markerOffset} before any image data (no SOS scan)");
                if (dcCoded.Contains(false)) throw Error(source, "a colour component has no DC scan (truncated or corrupt)");
                return (width, height);
            }
            bool known = marker is Sof0 or Sof1 or Sof2 or Dht or Sos or Dqt or Dri or Com or (>= 0xE0 and <= 0xEF);
            if (!known)
                throw Error(source, marker is (>= 0xC3 and <= 0xCF)
                    ? $"unsupported JPEG coding (marker 0xff{marker:x2} at offset {markerOffset}: lossless, hierarchical or arithmetic)"
                    : $"unexpected marker 0xff{marker:x2} at offset {markerOffset}");
            if (bytes.Length - pos < 2) throw Error(source, $"truncated: segment 0xff{marker:x2} at offset {markerOffset} has no length");
            int length = BinaryPrimitives.ReadUInt16BigEndian(bytes[pos..]);
            if (length < 2) throw Error(source, $"segment 0xff{marker:x2} at offset {markerOffset} has length {length} (at least 2)");
            if (length > bytes.Length - pos)
                throw Error(source, $"truncated: segment 0xff{marker:x2} at offset {markerOffset} claims {length} bytes, {bytes.Length - pos} remain");
            var segment = bytes.Slice(pos + 2, length - 2);
            pos += length;
            switch (marker)
            {
                case Sof0 or Sof1 or Sof2:
                    if (components is not null) throw Error(source, $"a second frame header at offset {markerOffset}");
                    components = ReadFrame(segment, source, markerOffset, out width, out height);
                    hMax = components.Max(c => c.H);
                    vMax = components.Max(c => c.V);
                    sequential = marker != Sof2;
                    dcCoded = new bool[components.Length];
                    break;
                case Dri:
                    if (length != 4) throw Error(source, $"DRI segment at offset {markerOffset} has length {length} (must be 4)");
                    break;
                case Sos:
                    if (components is null) throw Error(source, $"scan at offset {markerOffset} before the frame header (SOF)");
                    if (++scans > MaxScans) throw Error(source, $"more than {MaxScans} scans");
                    var (blocks, listed) = ScanBlocks(segment, components, width, height, hMax, vMax, source, markerOffset);
                    bool dcScan = segment[1 + 2 * listed.Length] == 0;  // spectral selection starts at 0
                    if (!sequential && !dcScan && listed.Any(i => !dcCoded[i]))
                        throw Error(source, $"progressive AC scan at offset {markerOffset} before its components' DC scan");
                    foreach (int i in listed) dcCoded[i] |= dcScan;
                    int dataStart = pos;
                    pos = EntropyDataEnd(bytes, pos, source);
                    // Bits every block of the scan needs at the least: sequential, a DC and an end-of-block code; a
                    // progressive DC scan, one code or one refinement bit (AC scans can cover many blocks in one run).
                    int minimumBits = sequential ? 2 : dcScan ? 1 : 0;
                    if (8L * (pos - dataStart) < minimumBits * blocks)
                        throw Error(source, $"truncated or corrupt: the scan at offset {markerOffset} has {pos - dataStart} bytes of data, "
                            + $"too few for the {blocks} blocks of a {width}x{height} image");
                    break;
            }
        }
    }

    private static Component[] ReadFrame(ReadOnlySpan<byte> s, string source, int offset, out int width, out int height)
    {
        if (s.Length < 6) throw Error(source, $"frame header at offset {offset} is {s.Length + 2} bytes long (too short)");
        if (s[0] != 8) throw Error(source, $"{s[0]}-bit samples (frame header at offset {offset}); only 8-bit JPEG is supported");
        height = BinaryPrimitives.ReadUInt16BigEndian(s[1..]);
        width = BinaryPrimitives.ReadUInt16BigEndian(s[3..]);
        int count = s[5];
        if (count is not (1 or 3 or 4)) throw Error(source, $"{count} colour components (frame header at offset {offset}); 1, 3 or 4 are supported");
        if (s.Length != 6 + 3 * count) throw Error(source, $"frame header at offset {offset} has length {s.Length + 2}, expected {8 + 3 * count} for {count} components");
        if (height == 0) throw Error(source, "height 0 in the frame header (a DNL marker is not supported)");
        ImageLoader.CheckDimensions(source, "JPEG", width, height);
        var components = new Component[count];
        for (int i = 0; i < count; i++)
        {
            int h = s[7 + 3 * i] >> 4, v = s[7 + 3 * i] & 15, table = s[8 + 3 * i];
            if (h is < 1 or > 4 || v is < 1 or > 4 || table > 3)
                throw Error(source, $"component {i} of the frame header at offset {offset} has sampling {h}x{v}, table {table} (1..4, 1..4, 0..3)");
            components[i] = new Component(s[6 + 3 * i], h, v);
        }
        return components;
    }

    /// <summary>
    /// A lower bound on the 8x8 blocks a scan codes (each listed component's own blocks, without MCU padding), and the
    /// frame indices of the components it lists.
    /// </summary>
    private static (long Blocks, int[] Listed) ScanBlocks(ReadOnlySpan<byte> s, Component[] components, int width, int height, int hMax, int vMax, string source, int offset)
    {
        int count = s.Length > 0 ? s[0] : 0;
        if (count is < 1 or > 4 || s.Length != 4 + 2 * count)
            throw Error(source, $"scan header at offset {offset} lists {count} components in {s.Length + 2} bytes");
        long blocks = 0;
        var listed = new int[count];
        for (int i = 0; i < count; i++)
        {
            int id = s[1 + 2 * i];
            int index = Array.FindIndex(components, c => c.Id == id);
            if (index < 0) throw Error(source, $"scan header at offset {offset} names component {id}, which the frame does not have");
            var c = components[index];
            long w = ((long)width * c.H + hMax - 1) / hMax, h = ((long)height * c.V + vMax - 1) / vMax;
            blocks += (w + 7) / 8 * ((h + 7) / 8);
            listed[i] = index;
        }
        return (blocks, listed);
    }

    /// <summary>
    /// The offset of the marker that ends the entropy-coded data starting at <paramref name="pos"/>: the first 0xFF
    /// followed by a byte other than 0x00 (a stuffed 0xFF), 0xFF (fill) or 0xD0..0xD7 (a restart marker).
    /// </summary>
    private static int EntropyDataEnd(ReadOnlySpan<byte> bytes, int pos, string source)
    {
        while (true)
        {
            int next = bytes[pos..].IndexOf((byte)0xFF);
            if (next < 0 || pos + next + 1 >= bytes.Length)
                throw Error(source, "truncated: the scan data runs to the end of the file, without an EOI marker");
            pos += next;
            byte after = bytes[pos + 1];
            if (after == 0xFF) pos += 1;
            else if (after == 0x00 || after is >= 0xD0 and <= 0xD7) pos += 2;
            else return pos;
        }
    }

    private static ImageFormatException Error(string source, string detail) => new(source, "JPEG " + detail);
}
