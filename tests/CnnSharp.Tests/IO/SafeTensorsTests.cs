using System.Buffers.Binary;
using System.Text;
using CnnSharp.IO;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.IO;

public sealed class SafeTensorsTests
{
    private static readonly string[] s_seedKeys =
    [
        "layer1.0.weight", "layer1.0.bias", "layer1.1.weight", "layer1.1.bias", "layer1.1.running_mean", "layer1.1.running_var",
        "layer1.1.num_batches_tracked", "layer2.0.weight", "layer2.0.bias", "layer2.1.weight", "layer2.1.bias",
        "layer2.1.running_mean", "layer2.1.running_var", "layer2.1.num_batches_tracked", "fc.weight", "fc.bias",
    ];

    [Fact]
    public void Read_seed_convnet_state_dict_has_pytorch_keys_shapes_and_int64_counters()
    {
        var file = SafeTensors.Read(ConformanceData.PathOf("pytorch-models", "seed_convnet", "state_dict.safetensors"));

        Assert.Equal(s_seedKeys, file.Names);
        Assert.Equal("pt", file.Metadata["format"]);
        var conv1 = file["layer1.0.weight"];
        Assert.Equal(SafeTensorDType.Float32, conv1.DType);
        Assert.Equal(new Shape(16, 1, 5, 5), conv1.Shape);
        Assert.Equal(new Shape(10, 1568), file["fc.weight"].Shape);
        var counter = file["layer1.1.num_batches_tracked"];
        Assert.Equal(SafeTensorDType.Int64, counter.DType);
        Assert.Equal(0, counter.Shape.Rank);
        Assert.Equal(0L, counter.ToInt64Scalar());
        // Values read independently (Python struct on the same bytes): first weights of conv1, fc bias, BN running_var.
        Assert.Equal([0.013969016f, -0.12047873f, 0.06368468f], conv1.ToFloatArray()[..3]);
        Assert.Equal([-0.022604307f, -0.019163584f, 0.019088447f], file["fc.bias"].ToFloatArray()[..3]);
        Assert.Equal(1.1101902f, file["layer1.1.running_var"].ToTensor().Data[0]);
    }

    [Fact]
    public void ReadStateDict_seed_convnet_splits_tensors_and_counters_in_file_order()
    {
        var dict = SafeTensors.ReadStateDict(ConformanceData.PathOf("pytorch-models", "seed_convnet", "state_dict.safetensors"));

        Assert.Equal(s_seedKeys, dict.Keys);
        Assert.Equal(14, dict.Tensors.Count());
        Assert.Equal(["layer1.1.num_batches_tracked", "layer2.1.num_batches_tracked"], dict.Int64Values.Select(kv => kv.Key));
        Assert.Equal(new Shape(32, 16, 5, 5), dict.GetTensor("layer2.0.weight").Shape);
        Assert.Equal(0L, dict.GetInt64("layer2.1.num_batches_tracked"));
    }

    [Fact]
    public void Read_lenet5_state_dict_has_sequential_keys()
    {
        var file = SafeTensors.Read(ConformanceData.PathOf("pytorch-models", "lenet5", "state_dict.safetensors"));

        Assert.Equal(["0.weight", "0.bias", "3.weight", "3.bias", "7.weight", "7.bias", "9.weight", "9.bias", "11.weight", "11.bias"], file.Names);
        Assert.Equal(new Shape(120, 400), file["7.weight"].Shape);
        Assert.All(file.Entries, e => Assert.Equal(SafeTensorDType.Float32, e.DType));
    }

    [Fact]
    public void StateDict_round_trip_reproduces_pytorch_files_byte_for_byte()
    {
        using var dir = new TempDirectory();
        foreach (string model in new[] { "seed_convnet", "lenet5" })
        {
            string original = ConformanceData.PathOf("pytorch-models", model, "state_dict.safetensors");
            var file = SafeTensors.Read(original);
            string copy = dir.File(model + ".safetensors");

            SafeTensors.Write(copy, file.ToStateDict(), file.Metadata);

            Assert.Equal(File.ReadAllBytes(original), File.ReadAllBytes(copy));
        }
    }

    [Fact]
    public void Serialize_single_tensor_matches_format_bytes()
    {
        // The format's own worked example: "attn.0", F32, shape [1, 2, 3], values 0..5; header of exactly 64 bytes.
        var entry = SafeTensorEntry.FromFloats("attn.0", [0f, 1f, 2f, 3f, 4f, 5f], new Shape(1, 2, 3));

        byte[] bytes = SafeTensors.Serialize([entry]);

        const string header = "{\"attn.0\":{\"dtype\":\"F32\",\"shape\":[1,2,3],\"data_offsets\":[0,24]}}";
        Assert.Equal(64UL, BinaryPrimitives.ReadUInt64LittleEndian(bytes));
        Assert.Equal(header, Encoding.UTF8.GetString(bytes, 8, 64));
        Assert.Equal(8 + 64 + 24, bytes.Length);
        Assert.Equal(new byte[] { 0, 0, 128, 63 }, bytes[(72 + 4)..(72 + 8)]);
    }

    [Fact]
    public void Serialize_pads_header_with_spaces_to_a_multiple_of_eight()
    {
        byte[] empty = SafeTensors.Serialize([]);
        Assert.Equal(new byte[] { 8, 0, 0, 0, 0, 0, 0, 0, (byte)'{', (byte)'}', 32, 32, 32, 32, 32, 32 }, empty);

        byte[] withMetadata = SafeTensors.Serialize([], new Dictionary<string, string> { ["framework"] = "pt" });
        Assert.Equal("{\"__metadata__\":{\"framework\":\"pt\"}}     ", Encoding.UTF8.GetString(withMetadata, 8, withMetadata.Length - 8));
        Assert.Equal(40UL, BinaryPrimitives.ReadUInt64LittleEndian(withMetadata));
    }

    [Fact]
    public void Aligned_layout_orders_by_descending_dtype_alignment_then_name()
    {
        SafeTensorEntry[] entries =
        [
            SafeTensorEntry.FromInt64("c", [1, 2, 3], new Shape(3), SafeTensorDType.UInt8),
            SafeTensorEntry.FromFloats("z", [1f], new Shape(1)),
            SafeTensorEntry.FromFloats("d", [1f, 2f, 3f], new Shape(3), SafeTensorDType.Float16),
            SafeTensorEntry.Int64Scalar("b", 7),
            SafeTensorEntry.FromFloats("a", [2f], new Shape(1)),
        ];

        var aligned = SafeTensors.Deserialize(SafeTensors.Serialize(entries, layout: SafeTensorsLayout.Aligned));
        var asGiven = SafeTensors.Deserialize(SafeTensors.Serialize(entries));

        Assert.Equal(["b", "a", "z", "d", "c"], aligned.Names);
        Assert.Equal(["c", "z", "d", "b", "a"], asGiven.Names);
        Assert.Equal(7L, aligned["b"].ToInt64Scalar());
    }

    [Fact]
    public void Round_trip_keeps_every_dtype_bit_for_bit()
    {
        var rng = new Random(7);
        var entries = new List<SafeTensorEntry>();
        foreach (SafeTensorDType dtype in Enum.GetValues<SafeTensorDType>())
        {
            var shape = new Shape(2, 3);
            var bytes = new byte[shape.Numel * dtype.ElementSize()];
            rng.NextBytes(bytes);
            entries.Add(new SafeTensorEntry(dtype.FormatName(), dtype, shape, bytes));
        }
        entries.Add(SafeTensorEntry.FromFloats("empty", [], new Shape(0, 4)));
        var metadata = new Dictionary<string, string> { ["format"] = "pt", ["note"] = "ünïcode \"quoted\"" };

        foreach (var layout in new[] { SafeTensorsLayout.AsGiven, SafeTensorsLayout.Aligned })
        {
            var back = SafeTensors.Deserialize(SafeTensors.Serialize(entries, metadata, layout));

            Assert.Equal(entries.Count, back.Count);
            foreach (var e in entries)
            {
                Assert.Equal(e.DType, back[e.Name].DType);
                Assert.Equal(e.Shape, back[e.Name].Shape);
                Assert.True(e.Bytes.SequenceEqual(back[e.Name].Bytes), $"{e.Name} bytes differ after {layout}");
            }
            Assert.Equal(metadata, back.Metadata);
        }
    }

    [Fact]
    public void Write_then_Read_file_round_trips_tensors_bitwise_including_nan_and_signed_zero()
    {
        using var dir = new TempDirectory();
        float[] values = [float.NaN, -0f, float.Epsilon, float.MaxValue, -1.5f, BitConverter.Int32BitsToSingle(0x7FC00123)];
        var tensors = new Dictionary<string, Tensor> { ["w"] = Tensor.FromArray(values, 2, 3), ["s"] = Tensor.Scalar(3f) };
        string path = dir.File("t.safetensors");

        SafeTensors.Write(path, tensors);
        var back = SafeTensors.Read(path);

        float[] read = back["w"].ToFloatArray();
        Assert.Equal(values.Select(BitConverter.SingleToInt32Bits), read.Select(BitConverter.SingleToInt32Bits));
        Assert.Equal(0, back["s"].Shape.Rank);
        Assert.Equal(3f, back["s"].ToTensor().Item());
    }

    [Fact]
    public void Float16_and_bfloat16_widen_exactly_on_load()
    {
        // 1.0, -2.5, 65504 (largest half), 2^-24 (smallest half subnormal), -inf.
        ushort[] halfBits = [0x3C00, 0xC100, 0x7BFF, 0x0001, 0xFC00];
        var half = new SafeTensorEntry("h", SafeTensorDType.Float16, new Shape(5), halfBits.SelectMany(BitConverter.GetBytes).ToArray());
        Assert.Equal([1f, -2.5f, 65504f, MathF.Pow(2, -24), float.NegativeInfinity], half.ToFloatArray());

        // bfloat16 is the top half of float32: 0x3F80 = 1.0, 0xC0490 = -3.140625, 0x0001 = smallest subnormal.
        ushort[] bf16Bits = [0x3F80, 0xC049, 0x0001];
        var bf16 = new SafeTensorEntry("b", SafeTensorDType.BFloat16, new Shape(3), bf16Bits.SelectMany(BitConverter.GetBytes).ToArray());
        Assert.Equal([1f, -3.140625f, BitConverter.UInt32BitsToSingle(0x00010000)], bf16.ToFloatArray());
    }

    [Fact]
    public void FromFloats_rounds_to_nearest_even_for_half_types()
    {
        // 1 + 2^-8 lies exactly between bfloat16 neighbours 1 and 1 + 2^-7: ties go to the even one (1.0);
        // 1 + 3*2^-8 lies between 1 + 2^-7 and 1 + 2^-6: ties go to 1 + 2^-6 (even mantissa).
        float[] values = [1f + MathF.Pow(2, -8), 1f + 3 * MathF.Pow(2, -8), 1f / 3f];
        var bf16 = SafeTensorEntry.FromFloats("b", values, new Shape(3), SafeTensorDType.BFloat16).ToFloatArray();
        Assert.Equal([1f, 1f + MathF.Pow(2, -6), 0.333984375f], bf16);

        var f16 = SafeTensorEntry.FromFloats("h", [1f / 3f, 70000f], new Shape(2), SafeTensorDType.Float16).ToFloatArray();
        Assert.Equal([0.33325195f, float.PositiveInfinity], f16);
    }

    [Fact]
    public void ToStateDict_converts_half_precision_and_rejects_other_integer_dtypes()
    {
        var halfFile = SafeTensors.Deserialize(SafeTensors.Serialize(
            [SafeTensorEntry.FromFloats("w", [0.5f, 2f], new Shape(2), SafeTensorDType.BFloat16), SafeTensorEntry.Int64Scalar("n", 12)]), "half.safetensors");
        var dict = halfFile.ToStateDict();
        Assert.Equal([0.5f, 2f], dict.GetTensor("w").ToArray());
        Assert.Equal(12L, dict.GetInt64("n"));

        var byteFile = SafeTensors.Deserialize(SafeTensors.Serialize(
            [SafeTensorEntry.FromInt64("mask", [1, 0], new Shape(2), SafeTensorDType.UInt8)]), "mask.safetensors");
        var ex = Assert.Throws<SafeTensorsFormatException>(byteFile.ToStateDict);
        Assert.Contains("mask.safetensors", ex.Message);
        Assert.Contains("'mask' is U8", ex.Message);
    }

    [Fact]
    public void Entry_conversions_refuse_the_wrong_kind_with_the_entry_name()
    {
        var floats = SafeTensorEntry.FromFloats("w", [1f], new Shape(1));
        var ints = SafeTensorEntry.FromInt64("i", [1, 2], new Shape(2), SafeTensorDType.Int32);

        Assert.Contains("'w'", Assert.Throws<InvalidOperationException>(() => floats.ToInt64Array()).Message);
        Assert.Contains("'i'", Assert.Throws<InvalidOperationException>(() => ints.ToFloatArray()).Message);
        Assert.Contains("2 elements", Assert.Throws<InvalidOperationException>(() => ints.ToInt64Scalar()).Message);
        Assert.Contains("does not fit in Int8", Assert.Throws<ArgumentException>(() => SafeTensorEntry.FromInt64("x", [200], new Shape(1), SafeTensorDType.Int8)).Message);
        Assert.Throws<ArgumentException>(() => new SafeTensorEntry("bad", SafeTensorDType.Float32, new Shape(2), new byte[7]));
        Assert.Throws<ArgumentException>(() => SafeTensorEntry.FromFloats(SafeTensors.MetadataKey, [1f], new Shape(1)));
    }

    [Fact]
    public void Write_with_duplicate_names_throws_and_leaves_the_previous_file_intact()
    {
        using var dir = new TempDirectory();
        string path = dir.File("m.safetensors");
        File.WriteAllBytes(path, [1, 2, 3]);
        var e = SafeTensorEntry.FromFloats("w", [1f], new Shape(1));

        var ex = Assert.Throws<ArgumentException>(() => SafeTensors.Write(path, [e, e]));

        Assert.Contains("'w'", ex.Message);
        Assert.Equal(new byte[] { 1, 2, 3 }, File.ReadAllBytes(path));
        Assert.Single(Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void Write_replaces_an_existing_file_and_leaves_no_temporary_file()
    {
        using var dir = new TempDirectory();
        string path = dir.File("m.safetensors");
        File.WriteAllBytes(path, new byte[1000]);
        var dict = new StateDict();
        dict.Add("w", Tensor.FromArray([1f, 2f], 2));
        dict.AddInt64("n", 5);

        SafeTensors.Write(path, dict);

        var back = SafeTensors.ReadStateDict(path);
        Assert.Equal(["w", "n"], back.Keys);
        Assert.Equal([1f, 2f], back.GetTensor("w").ToArray());
        Assert.Equal(5L, back.GetInt64("n"));
        Assert.Equal([path], Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void Write_into_missing_directory_throws_io_error()
    {
        using var dir = new TempDirectory();
        string path = Path.Combine(dir.Path, "missing", "m.safetensors");

        Assert.Throws<DirectoryNotFoundException>(() => SafeTensors.Write(path, new StateDict()));
        Assert.False(Directory.Exists(Path.Combine(dir.Path, "missing")));
    }
}
