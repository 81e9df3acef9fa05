using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace CnnSharp.IO;

/// <summary>Element types shared by the file formats (safetensors, ONNX TensorProto), for byte-level conversion.</summary>
internal enum ElementKind
{
    Bool, UInt8, Int8, Int16, UInt16, Int32, UInt32, Int64, UInt64, Float16, BFloat16, Float32, Float64,
}

/// <summary>
/// Converts little-endian element bytes to and from float32 / int64 arrays. Callers have already checked that the byte
/// length is a whole number of elements.
/// </summary>
internal static class ElementCodec
{
    public static int Size(ElementKind kind) => kind switch
    {
        ElementKind.Bool or ElementKind.UInt8 or ElementKind.Int8 => 1,
        ElementKind.Int16 or ElementKind.UInt16 or ElementKind.Float16 or ElementKind.BFloat16 => 2,
        ElementKind.Int32 or ElementKind.UInt32 or ElementKind.Float32 => 4,
        _ => 8,
    };

    public static bool IsFloatingPoint(ElementKind kind) =>
        kind is ElementKind.Float16 or ElementKind.BFloat16 or ElementKind.Float32 or ElementKind.Float64;

    /// <summary>Decodes to float32. Float16 and BFloat16 widen exactly; Float64 and 64-bit integers round to nearest.</summary>
    public static float[] ToFloat32(ReadOnlySpan<byte> bytes, ElementKind kind)
    {
        int n = bytes.Length / Size(kind);
        var result = new float[n];
        switch (kind)
        {
            case ElementKind.Float32:
                if (BitConverter.IsLittleEndian) bytes.CopyTo(MemoryMarshal.AsBytes(result.AsSpan()));
                else for (int i = 0; i < n; i++) result[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes[(4 * i)..]);
                break;
            case ElementKind.Float16:
                for (int i = 0; i < n; i++) result[i] = (float)BitConverter.UInt16BitsToHalf(BinaryPrimitives.ReadUInt16LittleEndian(bytes[(2 * i)..]));
                break;
            case ElementKind.BFloat16:
                // bfloat16 is the upper half of a float32's bits, so widening is a shift (exact, NaN payloads kept).
                for (int i = 0; i < n; i++) result[i] = BitConverter.UInt32BitsToSingle((uint)BinaryPrimitives.ReadUInt16LittleEndian(bytes[(2 * i)..]) << 16);
                break;
            case ElementKind.Float64:
                for (int i = 0; i < n; i++) result[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(bytes[(8 * i)..]);
                break;
            case ElementKind.Int64:
                for (int i = 0; i < n; i++) result[i] = BinaryPrimitives.ReadInt64LittleEndian(bytes[(8 * i)..]);
                break;
            case ElementKind.UInt64:
                for (int i = 0; i < n; i++) result[i] = BinaryPrimitives.ReadUInt64LittleEndian(bytes[(8 * i)..]);
                break;
            default:
                // Integers of 32 bits or fewer are exact in double, so one rounding to float32 happens here.
                for (int i = 0; i < n; i++) result[i] = (float)ReadSmallIntegerAsDouble(bytes, kind, i);
                break;
        }
        return result;
    }

    /// <summary>Decodes an integer or bool kind to int64.</summary>
    /// <exception cref="OverflowException">A UInt64 value is above <see cref="long.MaxValue"/> (message names the element).</exception>
    public static long[] ToInt64(ReadOnlySpan<byte> bytes, ElementKind kind)
    {
        int n = bytes.Length / Size(kind);
        var result = new long[n];
        for (int i = 0; i < n; i++)
        {
            result[i] = kind switch
            {
                ElementKind.Bool => bytes[i] != 0 ? 1 : 0,
                ElementKind.UInt8 => bytes[i],
                ElementKind.Int8 => (sbyte)bytes[i],
                ElementKind.Int16 => BinaryPrimitives.ReadInt16LittleEndian(bytes[(2 * i)..]),
                ElementKind.UInt16 => BinaryPrimitives.ReadUInt16LittleEndian(bytes[(2 * i)..]),
                ElementKind.Int32 => BinaryPrimitives.ReadInt32LittleEndian(bytes[(4 * i)..]),
                ElementKind.UInt32 => BinaryPrimitives.ReadUInt32LittleEndian(bytes[(4 * i)..]),
                ElementKind.Int64 => BinaryPrimitives.ReadInt64LittleEndian(bytes[(8 * i)..]),
                ElementKind.UInt64 => ToInt64Checked(BinaryPrimitives.ReadUInt64LittleEndian(bytes[(8 * i)..]), i),
                _ => throw new InvalidOperationException($"{kind} is not an integer type"),
            };
        }
        return result;
    }

    /// <summary>Encodes float32 values as <paramref name="kind"/> (Float32, Float64, Float16 or BFloat16), rounding to nearest even.</summary>
    public static byte[] FromFloat32(ReadOnlySpan<float> values, ElementKind kind)
    {
        var bytes = new byte[checked(values.Length * Size(kind))];
        switch (kind)
        {
            case ElementKind.Float32:
                if (BitConverter.IsLittleEndian) MemoryMarshal.AsBytes(values).CopyTo(bytes);
                else for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(4 * i), values[i]);
                break;
            case ElementKind.Float64:
                for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteDoubleLittleEndian(bytes.AsSpan(8 * i), values[i]);
                break;
            case ElementKind.Float16:
                for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(2 * i), BitConverter.HalfToUInt16Bits((Half)values[i]));
                break;
            case ElementKind.BFloat16:
                for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(2 * i), ToBFloat16Bits(values[i]));
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, "not a floating-point element type");
        }
        return bytes;
    }

    /// <summary>Encodes int64 values as an integer or bool kind.</summary>
    /// <exception cref="OverflowException">A value does not fit <paramref name="kind"/> (message names the element).</exception>
    public static byte[] FromInt64(ReadOnlySpan<long> values, ElementKind kind)
    {
        int size = Size(kind);
        var bytes = new byte[checked(values.Length * size)];
        for (int i = 0; i < values.Length; i++)
        {
            long v = values[i];
            var dst = bytes.AsSpan(size * i);
            switch (kind)
            {
                case ElementKind.Bool: dst[0] = v switch { 0 => 0, 1 => 1, _ => throw Overflow(v, kind, i) }; break;
                case ElementKind.UInt8: dst[0] = v is >= byte.MinValue and <= byte.MaxValue ? (byte)v : throw Overflow(v, kind, i); break;
                case ElementKind.Int8: dst[0] = v is >= sbyte.MinValue and <= sbyte.MaxValue ? (byte)(sbyte)v : throw Overflow(v, kind, i); break;
                case ElementKind.Int16: BinaryPrimitives.WriteInt16LittleEndian(dst, v is >= short.MinValue and <= short.MaxValue ? (short)v : throw Overflow(v, kind, i)); break;
                case ElementKind.UInt16: BinaryPrimitives.WriteUInt16LittleEndian(dst, v is >= ushort.MinValue and <= ushort.MaxValue ? (ushort)v : throw Overflow(v, kind, i)); break;
                case ElementKind.Int32: BinaryPrimitives.WriteInt32LittleEndian(dst, v is >= int.MinValue and <= int.MaxValue ? (int)v : throw Overflow(v, kind, i)); break;
                case ElementKind.UInt32: BinaryPrimitives.WriteUInt32LittleEndian(dst, v is >= uint.MinValue and <= uint.MaxValue ? (uint)v : throw Overflow(v, kind, i)); break;
                case ElementKind.Int64: BinaryPrimitives.WriteInt64LittleEndian(dst, v); break;
                case ElementKind.UInt64: BinaryPrimitives.WriteUInt64LittleEndian(dst, v >= 0 ? (ulong)v : throw Overflow(v, kind, i)); break;
                default: throw new ArgumentOutOfRangeException(nameof(kind), kind, "not an integer element type");
            }
        }
        return bytes;
    }

    /// <summary>Rounds a float32 to bfloat16 bits, nearest even (quiet NaN stays NaN), as PyTorch does.</summary>
    public static ushort ToBFloat16Bits(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value)) return (ushort)((bits >> 16) | 0x40);
        bits += 0x7FFFu + ((bits >> 16) & 1u);
        return (ushort)(bits >> 16);
    }

    private static double ReadSmallIntegerAsDouble(ReadOnlySpan<byte> bytes, ElementKind kind, int i) => kind switch
    {
        ElementKind.Bool => bytes[i] != 0 ? 1 : 0,
        ElementKind.UInt8 => bytes[i],
        ElementKind.Int8 => (sbyte)bytes[i],
        ElementKind.Int16 => BinaryPrimitives.ReadInt16LittleEndian(bytes[(2 * i)..]),
        ElementKind.UInt16 => BinaryPrimitives.ReadUInt16LittleEndian(bytes[(2 * i)..]),
        ElementKind.Int32 => BinaryPrimitives.ReadInt32LittleEndian(bytes[(4 * i)..]),
        ElementKind.UInt32 => BinaryPrimitives.ReadUInt32LittleEndian(bytes[(4 * i)..]),
        _ => throw new InvalidOperationException($"{kind} is not a 32-bit-or-smaller integer type"),
    };

    private static long ToInt64Checked(ulong value, int index) =>
        value <= long.MaxValue ? (long)value : throw new OverflowException($"element {index} = {value} does not fit in Int64");

    private static OverflowException Overflow(long value, ElementKind kind, int index) =>
        new($"element {index} = {value} does not fit in {kind}");
}
