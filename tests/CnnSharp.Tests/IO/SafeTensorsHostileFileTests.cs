using System.Buffers.Binary;
using System.Text;
using CnnSharp.IO;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.IO;

/// <summary>Malformed and hostile safetensors files: each must give a <see cref="SafeTensorsFormatException"/> naming the problem.</summary>
public sealed class SafeTensorsHostileFileTests
{
    private const string Source = "evil.safetensors";

    /// <summary>8-byte length prefix + header text + <paramref name="bufferLength"/> data bytes.</summary>
    private static byte[] Make(string header, int bufferLength, ulong? declaredLength = null)
    {
        byte[] json = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + json.Length + bufferLength];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, declaredLength ?? (ulong)json.Length);
        json.CopyTo(bytes, 8);
        return bytes;
    }

    private static SafeTensorsFormatException Fails(byte[] bytes, params string[] fragments)
    {
        var ex = Assert.Throws<SafeTensorsFormatException>(() => SafeTensors.Deserialize(bytes, Source));
        Assert.StartsWith(Source + ": ", ex.Message);
        Assert.Equal(Source, ex.FileName);
        foreach (string f in fragments) Assert.Contains(f, ex.Message);
        return ex;
    }

    private static string Entry(string name, string dtype, string shape, long begin, long end) =>
        $"\"{name}\":{{\"dtype\":\"{dtype}\",\"shape\":{shape},\"data_offsets\":[{begin},{end}]}}";

    [Fact]
    public void File_shorter_than_the_length_prefix_is_rejected()
    {
        var ex = Fails([1, 2, 3, 4, 5], "5 bytes, too short");
        Assert.Equal(0L, ex.ByteOffset);
    }

    [Fact]
    public void Header_length_above_100MB_is_rejected_before_allocating()
    {
        Fails(Make("{}", 0, declaredLength: 100_000_001), "header length 100000001", "exceeds the 100000000-byte limit");
        Fails(Make("{}", 0, declaredLength: ulong.MaxValue), "header length 18446744073709551615", "exceeds");
    }

    [Fact]
    public void Header_length_past_end_of_file_is_rejected()
    {
        var ex = Fails(Make("{}", 0, declaredLength: 50), "header length 50", "runs past the end of the file: 10 bytes leave at most 2");
        Assert.Equal(0L, ex.ByteOffset);
    }

    [Fact]
    public void Truncated_file_is_rejected_naming_the_cut_tensor()
    {
        byte[] good = SafeTensors.Serialize(
            [SafeTensorEntry.FromFloats("a", [1f, 2f], new Shape(2)), SafeTensorEntry.FromFloats("b", [3f, 4f, 5f], new Shape(3))]);
        byte[] truncated = good[..^5];

        var ex = Fails(truncated, "tensor 'b'", "data_offsets [8, 20]", "run past the end of the file", "the data buffer is 15 bytes");
        Assert.Equal("b", ex.TensorName);
    }

    [Fact]
    public void Truncated_inside_the_header_is_rejected()
    {
        byte[] good = SafeTensors.Serialize([SafeTensorEntry.FromFloats("a", [1f], new Shape(1))]);
        Fails(good[..20], "runs past the end of the file");
    }

    [Fact]
    public void Non_json_header_is_rejected_with_position()
    {
        var ex = Fails(Make("hello world!", 0), "is not valid UTF-8 JSON", "file bytes 8..20");
        Assert.NotNull(ex.InnerException);
    }

    [Fact]
    public void Invalid_utf8_in_header_is_rejected()
    {
        byte[] bytes = Make("{\"a\u00e9\":1}", 0);
        bytes[8 + 3] = 0xFF; // break the two-byte sequence of 'é'
        Fails(bytes, "is not valid UTF-8 JSON");
    }

    [Fact]
    public void Header_that_is_not_an_object_is_rejected()
    {
        Fails(Make("[1, 2, 3]", 0), "must be a JSON object, found an array");
        Fails(Make("\"text\"  ", 0), "must be a JSON object, found a string");
    }

    [Fact]
    public void Duplicate_tensor_name_is_rejected()
    {
        string header = "{" + Entry("w", "F32", "[1]", 0, 4) + "," + Entry("w", "F32", "[1]", 4, 8) + "}";
        var ex = Fails(Make(header, 8), "names 'w' twice");
        Assert.Equal("w", ex.TensorName);
    }

    [Fact]
    public void Negative_shape_dimension_is_rejected()
    {
        Fails(Make("{" + Entry("w", "F32", "[2,-1]", 0, 4) + "}", 4), "tensor 'w'", "shape dimension 1 is -1");
        Fails(Make("{" + Entry("w", "F32", "[1.5]", 0, 4) + "}", 4), "shape dimension 0 is 1.5");
    }

    [Fact]
    public void Unknown_dtype_is_rejected()
    {
        Fails(Make("{" + Entry("w", "F128", "[1]", 0, 16) + "}", 16), "tensor 'w'", "unknown dtype 'F128'");
        Fails(Make("{" + Entry("w", "f32", "[1]", 0, 4) + "}", 4), "unknown dtype 'f32'");
    }

    [Fact]
    public void Byte_length_disagreeing_with_dtype_and_shape_is_rejected()
    {
        // 3 F32 elements need 12 bytes; the offsets give 6 (a file that thinks F32 is 2 bytes).
        Fails(Make("{" + Entry("w", "F32", "[3]", 0, 6) + "}", 6), "tensor 'w'", "needs 12 bytes (3 elements x 4)", "span 6");
        Fails(Make("{" + Entry("w", "F16", "[2,2]", 0, 16) + "}", 16), "needs 8 bytes");
    }

    [Fact]
    public void Offsets_past_end_of_file_are_rejected()
    {
        var ex = Fails(Make("{" + Entry("w", "F32", "[4]", 0, 16) + "}", 8), "tensor 'w'", "data_offsets [0, 16]", "run past the end of the file");
        Assert.Equal("w", ex.TensorName);
    }

    [Fact]
    public void Overlapping_tensors_are_rejected_naming_both()
    {
        string header = "{" + Entry("a", "F32", "[2]", 0, 8) + "," + Entry("b", "F32", "[2]", 4, 12) + "}";
        var ex = Fails(Make(header, 12), "tensor 'b'", "overlap tensor 'a' [0, 8]");
        Assert.Equal("b", ex.TensorName);
    }

    [Fact]
    public void Many_tensors_on_one_region_are_rejected()
    {
        // The denial-of-service shape that made contiguity a rule: every tensor aliases the same bytes.
        string header = "{" + string.Join(",", Enumerable.Range(0, 5).Select(i => Entry($"t{i}", "F32", "[2]", 0, 8))) + "}";
        Fails(Make(header, 8), "overlap tensor 't");
    }

    [Fact]
    public void Hole_between_tensors_is_rejected()
    {
        string header = "{" + Entry("a", "F32", "[2]", 0, 8) + "," + Entry("b", "F32", "[2]", 12, 20) + "}";
        var ex = Fails(Make(header, 20), "tensor 'b'", "leave a hole after tensor 'a'", "belong to no tensor");
        string json = "{" + Entry("a", "F32", "[2]", 0, 8) + "," + Entry("b", "F32", "[2]", 12, 20) + "}";
        Assert.Equal(8 + Encoding.UTF8.GetByteCount(json) + 8, ex.ByteOffset);
    }

    [Fact]
    public void Hole_before_the_first_tensor_is_rejected()
    {
        Fails(Make("{" + Entry("a", "F32", "[2]", 4, 12) + "}", 12), "tensor 'a'", "must start with a tensor at offset 0");
    }

    [Fact]
    public void Trailing_bytes_after_the_last_tensor_are_rejected()
    {
        Fails(Make("{" + Entry("a", "F32", "[2]", 0, 8) + "}", 12), "tensors end at data offset 8", "4 more bytes", "trailing bytes are not allowed");
    }

    [Fact]
    public void End_before_begin_is_rejected()
    {
        Fails(Make("{" + Entry("a", "F32", "[0]", 8, 0) + "}", 8), "tensor 'a'", "[8, 0] end before they begin");
    }

    [Fact]
    public void Shape_product_overflow_is_rejected()
    {
        Fails(Make("{" + Entry("a", "F32", "[4611686018427387904,4]", 0, 0) + "}", 0), "tensor 'a'", "overflows a 64-bit element count");
        Fails(Make("{" + Entry("a", "F64", "[4611686018427387904]", 0, 0) + "}", 0), "overflows a 64-bit byte count");
    }

    [Fact]
    public void Malformed_entry_fields_are_rejected()
    {
        Fails(Make("{\"a\":[1,2]}", 0), "tensor 'a'", "expected an object with dtype, shape and data_offsets, found an array");
        Fails(Make("{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4), "missing field 'data_offsets'");
        Fails(Make("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"extra\":1}}", 4), "unknown field 'extra'");
        Fails(Make("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", 4), "data_offsets must be [begin, end]");
        Fails(Make("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,\"4\"]}}", 4), "data offset \"4\" is not a non-negative integer");
        Fails(Make("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", 4), "data offset -4");
        Fails(Make("{\"a\":{\"dtype\":32,\"shape\":[1],\"data_offsets\":[0,4]}}", 4), "dtype must be a string");
        Fails(Make("{\"a\":{\"dtype\":\"F32\",\"shape\":1,\"data_offsets\":[0,4]}}", 4), "shape must be an array");
    }

    [Fact]
    public void Metadata_that_is_not_strings_is_rejected()
    {
        Fails(Make("{\"__metadata__\":{\"epoch\":3}}", 0), "'__metadata__' entry 'epoch' must be a string, found a number");
        Fails(Make("{\"__metadata__\":[\"x\"]}", 0), "'__metadata__' must be an object of strings");
    }

    [Fact]
    public void Dimension_beyond_int32_is_rejected_even_with_zero_elements()
    {
        Fails(Make("{" + Entry("a", "F32", "[3000000000,0]", 0, 0) + "}", 0), "tensor 'a'", "larger dimension than CnnSharp tensors hold");
    }

    [Fact]
    public void Claimed_10GB_tensor_in_a_tiny_file_fails_without_allocating_it()
    {
        using var dir = new TempDirectory();
        string warm = dir.File("warm.safetensors");
        SafeTensors.Write(warm, [SafeTensorEntry.FromFloats("w", [1f], new Shape(1))]);
        SafeTensors.Read(warm); // JIT the reader so the measurement below sees only the hostile read
        // 50000 x 50000 F32 = 10,000,000,000 bytes claimed; the file holds 16.
        string pastEnd = dir.File("bomb.safetensors");
        File.WriteAllBytes(pastEnd, Make("{" + Entry("bomb", "F32", "[50000,50000]", 0, 10_000_000_000) + "}", 16));
        string wrongSize = dir.File("bomb2.safetensors");
        File.WriteAllBytes(wrongSize, Make("{" + Entry("bomb", "F32", "[50000,50000]", 0, 16) + "}", 16));

        long before = GC.GetAllocatedBytesForCurrentThread();
        var ex1 = Assert.Throws<SafeTensorsFormatException>(() => SafeTensors.Read(pastEnd));
        var ex2 = Assert.Throws<SafeTensorsFormatException>(() => SafeTensors.Read(wrongSize));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Contains(pastEnd, ex1.Message);
        Assert.Contains("tensor 'bomb': data_offsets [0, 10000000000]", ex1.Message);
        Assert.Contains("run past the end of the file", ex1.Message);
        Assert.Contains("needs 10000000000 bytes", ex2.Message);
        Assert.True(allocated < 1_000_000, $"rejecting the files allocated {allocated} bytes");
    }
}
