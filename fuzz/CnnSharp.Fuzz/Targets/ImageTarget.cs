using System.Buffers.Binary;
using System.Text;
using CnnSharp.Data;

namespace CnnSharp.Fuzz.Targets;

/// <summary>PNG or JPEG (the same decoder, different seeds and length fields): <see cref="ImageLoader.Decode"/>.</summary>
internal sealed class ImageTarget(string format) : FuzzTarget
{
    private static readonly IReadOnlyList<byte[]> s_pngTokens =
        [.. new[] { "IHDR", "IDAT", "IEND", "PLTE", "tRNS", "gAMA" }.Select(Encoding.ASCII.GetBytes)];

    private static readonly IReadOnlyList<byte[]> s_jpegTokens =
        [[0xFF, 0xD8], [0xFF, 0xC0], [0xFF, 0xC2], [0xFF, 0xC4], [0xFF, 0xDA], [0xFF, 0xDB], [0xFF, 0xDD], [0xFF, 0xD9], [0xFF, 0xE0], [0xFF, 0x00]];

    public override string Name => format;

    public override IReadOnlyList<byte[]> Dictionary => format == "png" ? s_pngTokens : s_jpegTokens;

    public override string Execute(byte[] input)
    {
        var image = ImageLoader.Decode(input, $"fuzz.{format}");
        return image.Shape.ToString();
    }

    public override bool IsExpected(Exception error) => error is ImageFormatException;

    public override IEnumerable<LengthField> LengthFields(byte[] input) => format == "png" ? PngFields(input) : JpegFields(input);

    /// <summary>Each chunk's big-endian length, and the width and height in IHDR.</summary>
    private static List<LengthField> PngFields(byte[] input)
    {
        var fields = new List<LengthField> { new(16, 4, true), new(20, 4, true) };
        for (long p = 8; p + 8 <= input.Length && fields.Count < 64;)
        {
            fields.Add(new LengthField((int)p, 4, true));
            p += 12L + BinaryPrimitives.ReadUInt32BigEndian(input.AsSpan((int)p));
        }
        return fields;
    }

    /// <summary>Each marker segment's big-endian length up to the scan, and the height and width of a frame header.</summary>
    private static List<LengthField> JpegFields(byte[] input)
    {
        var fields = new List<LengthField>();
        for (int p = 2; p + 4 <= input.Length && fields.Count < 64;)
        {
            if (input[p] != 0xFF) break;
            byte marker = input[p + 1];
            if (marker is 0x01 or (>= 0xD0 and <= 0xD9)) { p += 2; continue; }
            fields.Add(new LengthField(p + 2, 2, true));
            if (marker is >= 0xC0 and <= 0xC3 && p + 9 <= input.Length)
            {
                fields.Add(new LengthField(p + 5, 2, true));
                fields.Add(new LengthField(p + 7, 2, true));
            }
            if (marker == 0xDA) break;
            p += 2 + BinaryPrimitives.ReadUInt16BigEndian(input.AsSpan(p + 2));
        }
        return fields;
    }
}
