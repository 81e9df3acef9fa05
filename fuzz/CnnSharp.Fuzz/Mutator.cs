using System.Buffers.Binary;
using System.Text;

namespace CnnSharp.Fuzz;

/// <summary>
/// Byte-level mutations (AFL's havoc, without coverage feedback): bit flips, interesting bytes and integers, arithmetic,
/// edits of the format's length fields, protobuf varints, numbers written as text, range insertion, deletion and
/// duplication, truncation, dictionary tokens and splicing with another corpus entry. One to four are stacked per input.
/// </summary>
internal sealed class Mutator(Random random, FuzzTarget target, int maxLength)
{
    private static readonly byte[] s_interestingBytes = [0, 1, 0x7F, 0x80, 0xFF, 0x10, 0x20, 0x40, 0xFE];

    private static readonly long[] s_interestingInts =
    [
        0, 1, -1, 2, 16, 64, 100, 127, 128, 255, 256, 1000, 1024, 4096, 32767, 32768, 65535, 65536, 100_000,
        1 << 20, 1 << 24, 40000, int.MaxValue, int.MaxValue - 1, int.MinValue, 0x7FFFFFC7, uint.MaxValue,
        1L << 32, long.MaxValue, long.MinValue, 1_000_000_000_000,
    ];

    private static readonly string[] s_interestingNumbers =
    [
        "0", "-1", "1", "2147483647", "2147483648", "-2147483648", "4294967296", "9223372036854775807",
        "18446744073709551616", "1e309", "NaN", "inf", "-0", "0.5", "99999999", "40000", "abc", "",
    ];

    /// <summary>A mutated copy of <paramref name="input"/>; <paramref name="other"/> is a second corpus entry to splice from.</summary>
    public byte[] Mutate(byte[] input, byte[] other)
    {
        var data = new List<byte>(input);
        int count = 1 + random.Next(4);
        for (int i = 0; i < count; i++) MutateOnce(data, other);
        if (data.Count > maxLength) data.RemoveRange(maxLength, data.Count - maxLength);
        return [.. data];
    }

    private void MutateOnce(List<byte> data, byte[] other)
    {
        switch (random.Next(14))
        {
            case 0 when data.Count > 0:
                data[random.Next(data.Count)] ^= (byte)(1 << random.Next(8));
                break;
            case 1 when data.Count > 0:
                data[random.Next(data.Count)] = s_interestingBytes[random.Next(s_interestingBytes.Length)];
                break;
            case 2 when data.Count > 0:
                data[random.Next(data.Count)] += (byte)(random.Next(1, 36) * (random.Next(2) == 0 ? 1 : -1));
                break;
            case 3:
                WriteInteger(data, new LengthField(random.Next(data.Count + 1), 1 << random.Next(1, 4), random.Next(2) == 0), Interesting());
                break;
            case 4 or 5:
                EditLengthField(data);
                break;
            case 6:
                WriteVarint(data);
                break;
            case 7:
                ReplaceNumberText(data);
                break;
            case 8 when data.Count > 0:
            {
                int at = random.Next(data.Count), length = Math.Min(data.Count - at, 1 + random.Next(Math.Min(64, data.Count)));
                data.RemoveRange(at, length);
                break;
            }
            case 9 when data.Count > 0:
            {
                int from = random.Next(data.Count), length = Math.Min(data.Count - from, 1 + random.Next(Math.Min(256, data.Count)));
                data.InsertRange(random.Next(data.Count + 1), data.GetRange(from, length));
                break;
            }
            case 10:
            {
                var bytes = new byte[1 + random.Next(16)];
                random.NextBytes(bytes);
                data.InsertRange(random.Next(data.Count + 1), bytes);
                break;
            }
            case 11 when target.Dictionary.Count > 0:
            {
                byte[] token = target.Dictionary[random.Next(target.Dictionary.Count)];
                int at = random.Next(data.Count + 1);
                if (random.Next(2) == 0 || at + token.Length > data.Count) data.InsertRange(at, token);
                else for (int k = 0; k < token.Length; k++) data[at + k] = token[k];
                break;
            }
            case 12 when other.Length > 0 && data.Count > 0:
            {
                // Splice: a prefix of this input and a suffix of the other.
                int cut = random.Next(data.Count), from = random.Next(other.Length);
                data.RemoveRange(cut, data.Count - cut);
                data.AddRange(other.AsSpan(from).ToArray());
                break;
            }
            case 13 when data.Count > 1:
            {
                int keep = random.Next(1, data.Count);
                data.RemoveRange(keep, data.Count - keep);
                break;
            }
        }
    }

    private long Interesting() => s_interestingInts[random.Next(s_interestingInts.Length)];

    private void EditLengthField(List<byte> data)
    {
        var fields = target.LengthFields([.. data]).ToList();
        if (fields.Count == 0)
        {
            WriteInteger(data, new LengthField(random.Next(data.Count + 1), 4, random.Next(2) == 0), Interesting());
            return;
        }
        var field = fields[random.Next(fields.Count)];
        long value = random.Next(3) switch
        {
            0 => Interesting(),
            1 => ReadInteger(data, field) + random.Next(-16, 17),
            _ => ReadInteger(data, field) * (random.Next(2) == 0 ? 2 : 1000),
        };
        WriteInteger(data, field, value);
    }

    private static long ReadInteger(List<byte> data, LengthField f)
    {
        if (f.Offset + f.Width > data.Count) return 0;
        Span<byte> b = stackalloc byte[8];
        for (int k = 0; k < f.Width; k++) b[k] = data[f.Offset + k];
        return (f.Width, f.BigEndian) switch
        {
            (2, true) => BinaryPrimitives.ReadUInt16BigEndian(b),
            (2, false) => BinaryPrimitives.ReadUInt16LittleEndian(b),
            (4, true) => BinaryPrimitives.ReadUInt32BigEndian(b),
            (4, false) => BinaryPrimitives.ReadUInt32LittleEndian(b),
            (_, true) => BinaryPrimitives.ReadInt64BigEndian(b),
            _ => BinaryPrimitives.ReadInt64LittleEndian(b),
        };
    }

    private static void WriteInteger(List<byte> data, LengthField f, long value)
    {
        Span<byte> b = stackalloc byte[8];
        if (f.BigEndian) BinaryPrimitives.WriteInt64BigEndian(b, value);
        else BinaryPrimitives.WriteInt64LittleEndian(b, value);
        var bytes = f.BigEndian ? b[(8 - f.Width)..] : b[..f.Width];
        for (int k = 0; k < bytes.Length; k++)
        {
            if (f.Offset + k < data.Count) data[f.Offset + k] = bytes[k];
            else data.Add(bytes[k]);
        }
    }

    /// <summary>Writes a protobuf varint over the bytes at a random offset (lengths and dims of ONNX messages).</summary>
    private void WriteVarint(List<byte> data)
    {
        ulong value = (ulong)Interesting();
        var bytes = new List<byte>();
        do
        {
            byte b = (byte)(value & 0x7F);
            value >>= 7;
            bytes.Add(value != 0 ? (byte)(b | 0x80) : b);
        } while (value != 0);
        int at = random.Next(data.Count + 1);
        int replace = Math.Min(data.Count - at, random.Next(1, 11));
        data.RemoveRange(at, replace);
        data.InsertRange(at, bytes);
    }

    /// <summary>Replaces a run of ASCII digits (a JSON offset, a CLI value) with an interesting number as text.</summary>
    private void ReplaceNumberText(List<byte> data)
    {
        var digits = new List<int>();
        for (int i = 0; i < data.Count; i++)
            if (data[i] is >= (byte)'0' and <= (byte)'9' && (i == 0 || data[i - 1] is < (byte)'0' or > (byte)'9')) digits.Add(i);
        if (digits.Count == 0) return;
        int start = digits[random.Next(digits.Count)], end = start;
        while (end < data.Count && data[end] is >= (byte)'0' and <= (byte)'9') end++;
        data.RemoveRange(start, end - start);
        data.InsertRange(start, Encoding.ASCII.GetBytes(s_interestingNumbers[random.Next(s_interestingNumbers.Length)]));
    }
}
