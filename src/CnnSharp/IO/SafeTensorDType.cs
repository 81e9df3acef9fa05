namespace CnnSharp.IO;

/// <summary>
/// Element types of the safetensors format. The numeric order is the reference implementation's order of increasing
/// alignment, which its writer uses (descending) to lay tensors out.
/// </summary>
public enum SafeTensorDType
{
    /// <summary><c>BOOL</c>: one byte, 0 or 1.</summary>
    Bool,
    /// <summary><c>U8</c>: unsigned 8-bit integer.</summary>
    UInt8,
    /// <summary><c>I8</c>: signed 8-bit integer.</summary>
    Int8,
    /// <summary><c>F8_E5M2</c>: 8-bit float (5 exponent, 2 mantissa bits); raw bytes only.</summary>
    Float8E5M2,
    /// <summary><c>F8_E4M3</c>: 8-bit float (4 exponent, 3 mantissa bits); raw bytes only.</summary>
    Float8E4M3,
    /// <summary><c>I16</c>: signed 16-bit integer.</summary>
    Int16,
    /// <summary><c>U16</c>: unsigned 16-bit integer.</summary>
    UInt16,
    /// <summary><c>F16</c>: IEEE 754 half precision.</summary>
    Float16,
    /// <summary><c>BF16</c>: bfloat16 (the upper 16 bits of a float32).</summary>
    BFloat16,
    /// <summary><c>I32</c>: signed 32-bit integer.</summary>
    Int32,
    /// <summary><c>U32</c>: unsigned 32-bit integer.</summary>
    UInt32,
    /// <summary><c>F32</c>: IEEE 754 single precision (CnnSharp's tensor type).</summary>
    Float32,
    /// <summary><c>F64</c>: IEEE 754 double precision.</summary>
    Float64,
    /// <summary><c>I64</c>: signed 64-bit integer (PyTorch's <c>num_batches_tracked</c>).</summary>
    Int64,
    /// <summary><c>U64</c>: unsigned 64-bit integer.</summary>
    UInt64,
}

/// <summary>Names and sizes of <see cref="SafeTensorDType"/> values as the format spells them.</summary>
public static class SafeTensorDTypes
{
    private static readonly string[] s_names =
        ["BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "F64", "I64", "U64"];

    private static readonly int[] s_sizes = [1, 1, 1, 1, 1, 2, 2, 2, 2, 4, 4, 4, 8, 8, 8];

    /// <summary>The format's name of <paramref name="dtype"/> (<c>"F32"</c>, <c>"I64"</c>, ...).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dtype"/> is not a defined value.</exception>
    public static string FormatName(this SafeTensorDType dtype) => s_names[Index(dtype)];

    /// <summary>Size of one element of <paramref name="dtype"/> in bytes.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dtype"/> is not a defined value.</exception>
    public static int ElementSize(this SafeTensorDType dtype) => s_sizes[Index(dtype)];

    /// <summary>Parses a format name (case-sensitive, as the format requires), e.g. <c>"BF16"</c>.</summary>
    /// <returns>False when <paramref name="name"/> is not a safetensors dtype.</returns>
    public static bool TryParse(string name, out SafeTensorDType dtype)
    {
        int i = Array.IndexOf(s_names, name);
        dtype = (SafeTensorDType)Math.Max(i, 0);
        return i >= 0;
    }

    private static int Index(SafeTensorDType dtype)
    {
        int i = (int)dtype;
        if ((uint)i >= (uint)s_names.Length) throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "not a safetensors dtype");
        return i;
    }
}
