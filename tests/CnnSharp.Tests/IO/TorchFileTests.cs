using System.Runtime.InteropServices;
using CnnSharp.IO;
using CnnSharp.Models;
using CnnSharp.Modules;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.IO;

/// <summary>
/// Reading files written by PyTorch 1.13's <c>torch.save</c> (Fixtures/torch/, written by
/// tests/reference/generate_torch_fixtures.py): state dicts load into the zoo models and reproduce PyTorch's logits,
/// views and every storage dtype come out with PyTorch's values, and the other layouts PyTorch writes (protocol 4,
/// checkpoints, the legacy format) are read or refused by name.
/// </summary>
public sealed class TorchFileTests
{
    /// <summary>
    /// Logits against float64 references computed from the very weights in the file: CnnSharp's float32 forward is off
    /// by at most ~2e-7 on logits below 0.6 (observed), so 1e-5 absolute (the brief's tolerance) plus 1e-5 relative
    /// leaves a wide margin while a wrong layer, weight or activation moves them by ~1e-2.
    /// </summary>
    private static readonly Tolerance Logits = new(1e-5, 1e-5);

    internal static string FixturePath(string file) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "torch", file);

    private static Module Create(string name) => name switch
    {
        "convnet" => new ConvNet(),
        "lenet5" => LeNet5.Create(),
        "resnet9" => new ResNet9(),
        "resnet18_w8" => ResNet.ResNet18(numClasses: 10, width: 8),
        "mobilenet_v2_w025" => new MobileNetV2(numClasses: 10, widthMult: 0.25f),
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "no such fixture"),
    };

    [Theory]
    [InlineData("convnet")]
    [InlineData("lenet5")]
    [InlineData("resnet9")]
    [InlineData("resnet18_w8")]
    [InlineData("mobilenet_v2_w025")]
    public void A_torch_save_state_dict_loads_and_reproduces_pytorchs_logits(string name)
    {
        var model = Create(name);
        var result = model.LoadTorchFile(FixturePath(name + ".pt"));
        Assert.Empty(result.MissingKeys);
        Assert.Empty(result.UnexpectedKeys);
        // torch.save kept num_batches_tracked = 7 as int64.
        Assert.All(model.StateDict().Where(e => e.Key.EndsWith("num_batches_tracked", StringComparison.Ordinal)), e => Assert.Equal(7f, e.Value.Data[0]));

        var io = TorchFile.Read(FixturePath(name + "_io.pt"));
        Assert.Equal(SafeTensorDType.Float64, io["logits"].DType);
        model.Eval();
        var logits = model.Forward(io["input"].ToTensor());
        Assert.Equal(io["logits"].Shape, logits.Shape);
        TensorAssert.Close(MemoryMarshal.Cast<byte, double>(io["logits"].Bytes).ToArray(), logits, Logits, $"{name} logits");
    }

    [Fact]
    public void LoadStateDict_takes_what_TorchFile_Load_returns()
    {
        var expected = new ConvNet();
        expected.LoadTorchFile(FixturePath("convnet.pt"));
        var state = TorchFile.Load(FixturePath("convnet.pt"));
        Assert.Equal(7, state.GetInt64("layer1.1.num_batches_tracked"));
        var model = new ConvNet();
        var result = model.LoadStateDict(state);
        Assert.Empty(result.MissingKeys);
        foreach (var ((key, a), (_, b)) in expected.StateDict().Zip(model.StateDict()))
            Assert.True(a.ToArray().SequenceEqual(b.ToArray()), key);
    }

    [Fact]
    public void Mobilenet_fixture_is_float16_and_widens_exactly()
    {
        var file = TorchFile.Read(FixturePath("mobilenet_v2_w025.pt"));
        Assert.Equal(SafeTensorDType.Float16, file["features.0.0.weight"].DType);
        Assert.Equal(SafeTensorDType.Int64, file["features.0.1.num_batches_tracked"].DType);
        Assert.Equal("features.0.0.weight", file.Entries[0].Name);
        Assert.Equal("classifier.1.bias", file.Entries[^1].Name);
    }

    [Fact]
    public void Views_shared_storages_parameters_and_every_storage_dtype_read_as_pytorch_prints_them()
    {
        var file = TorchFile.Read(FixturePath("views.pt"));
        var expected = JsonFixture.Load("torch/views.json").GetProperty("tensors");
        Assert.Equal(expected.EnumerateObject().Select(p => p.Name), file.Names);
        foreach (var property in expected.EnumerateObject())
        {
            var entry = file[property.Name];
            var want = property.Value;
            Assert.True(entry.Shape.Equals(want.GetProperty("shape").Ints()), $"{property.Name}: shape {entry.Shape}");
            var values = want.GetProperty("data").EnumerateArray().Select(v => v.GetDouble()).ToArray();
            Assert.Equal(values, Values(entry));
            Assert.Equal(want.GetProperty("dtype").GetString(), DTypeName(entry.DType));
        }
    }

    private static double[] Values(SafeTensorEntry entry) => entry.DType switch
    {
        SafeTensorDType.Float64 => MemoryMarshal.Cast<byte, double>(entry.Bytes).ToArray(),
        SafeTensorDType.Float32 or SafeTensorDType.Float16 or SafeTensorDType.BFloat16 => [.. entry.ToFloatArray().Select(v => (double)v)],
        SafeTensorDType.Bool or SafeTensorDType.UInt8 => [.. entry.Bytes.ToArray().Select(b => (double)b)],
        SafeTensorDType.Int8 => [.. MemoryMarshal.Cast<byte, sbyte>(entry.Bytes).ToArray().Select(b => (double)b)],
        SafeTensorDType.Int16 => [.. MemoryMarshal.Cast<byte, short>(entry.Bytes).ToArray().Select(b => (double)b)],
        SafeTensorDType.Int32 => [.. MemoryMarshal.Cast<byte, int>(entry.Bytes).ToArray().Select(b => (double)b)],
        SafeTensorDType.Int64 => [.. MemoryMarshal.Cast<byte, long>(entry.Bytes).ToArray().Select(b => (double)b)],
        _ => throw new ArgumentOutOfRangeException(nameof(entry), entry.DType, "unexpected dtype"),
    };

    private static string DTypeName(SafeTensorDType dtype) => dtype switch
    {
        SafeTensorDType.Float32 => "float32",
        SafeTensorDType.Float64 => "float64",
        SafeTensorDType.Float16 => "float16",
        SafeTensorDType.BFloat16 => "bfloat16",
        SafeTensorDType.Int64 => "int64",
        SafeTensorDType.Int32 => "int32",
        SafeTensorDType.Int16 => "int16",
        SafeTensorDType.Int8 => "int8",
        SafeTensorDType.UInt8 => "uint8",
        SafeTensorDType.Bool => "bool",
        _ => dtype.FormatName(),
    };

    [Fact]
    public void Protocol_4_pickles_read_like_protocol_2()
    {
        // Same state dict (same seed), once with pickle_protocol=4 (FRAME, MEMOIZE, SHORT_BINUNICODE, STACK_GLOBAL) and
        // once nested in a protocol-2 checkpoint.
        var p4 = TorchFile.Read(FixturePath("protocol4.pt"));
        var p2 = TorchFile.Read(FixturePath("checkpoint.pt"), entry: "model");
        Assert.Equal(p2.Names, p4.Names);
        foreach (var e in p2.Entries)
        {
            Assert.Equal(e.DType, p4[e.Name].DType);
            Assert.True(e.Bytes.SequenceEqual(p4[e.Name].Bytes), e.Name);
        }
    }

    [Fact]
    public void A_checkpoint_dict_says_which_entry_holds_the_state_dict()
    {
        var ex = Assert.Throws<TorchFormatException>(() => TorchFile.Read(FixturePath("checkpoint.pt")));
        Assert.Contains("not a state dict: 'model' holds a dict, 'epoch' holds a int, 'lr' holds a float, 'name' holds a str", ex.Message, StringComparison.Ordinal);
        Assert.Contains("pass entry 'model'", ex.Message, StringComparison.Ordinal);
        var missing = Assert.Throws<TorchFormatException>(() => TorchFile.Read(FixturePath("checkpoint.pt"), entry: "state_dict"));
        Assert.Contains("no key 'state_dict' in the file's dict (keys: 'model', 'epoch', 'lr', 'name')", missing.Message, StringComparison.Ordinal);
        var scalar = Assert.Throws<TorchFormatException>(() => TorchFile.Read(FixturePath("checkpoint.pt"), entry: "epoch"));
        Assert.Contains("'epoch' holds a int, not a state dict", scalar.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_legacy_format_is_refused_by_name()
    {
        var ex = Assert.Throws<TorchFormatException>(() => TorchFile.Read(FixturePath("legacy.pt")));
        Assert.Contains("legacy.pt: a legacy torch.save file (PyTorch before 1.6, or _use_new_zipfile_serialization=False), which is not supported", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Other_files_are_named_and_a_missing_file_is_file_not_found()
    {
        string png = Path.Combine(AppContext.BaseDirectory, "Fixtures", "models", "resnet8.safetensors");
        var ex = Assert.Throws<TorchFormatException>(() => TorchFile.Read(png));
        Assert.Contains("not a PyTorch .pt/.pth file", ex.Message, StringComparison.Ordinal);
        var image = Assert.Throws<TorchFormatException>(() => TorchFile.Deserialize([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A], "x.png"));
        Assert.Contains("x.png: this is a PNG image, not a PyTorch .pt/.pth file", image.Message, StringComparison.Ordinal);
        Assert.Throws<FileNotFoundException>(() => TorchFile.Read(FixturePath("no-such.pt")));
    }

    [Fact]
    public void Loading_into_the_wrong_model_reports_every_key_problem()
    {
        var ex = Assert.Throws<StateDictException>(() => LeNet5.Create().LoadTorchFile(FixturePath("convnet.pt")));
        Assert.Contains("convnet.pt: cannot load into Sequential", ex.Message, StringComparison.Ordinal);
        Assert.Contains("missing keys: 0.weight", ex.Message, StringComparison.Ordinal);
        Assert.Contains("unexpected keys: fc.bias", ex.Message, StringComparison.Ordinal);
    }

}
