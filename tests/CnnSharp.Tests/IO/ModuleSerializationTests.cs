using System.Runtime.InteropServices;
using CnnSharp.IO;
using CnnSharp.Models;
using CnnSharp.Modules;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.IO;

public sealed class ModuleSerializationTests
{
    /// <summary>
    /// PyTorch 1.13's logits vs ours for the same weights: the models run float32 sums of up to 400 (conv) and 1568
    /// (linear) products in a different order, so agreement is to float32 accumulation error: observed max abs error
    /// 3.6e-7 (seed_convnet) and 8.2e-8 (lenet5) on logits of magnitude ~0.1-1; rtol 1e-5 + atol 1e-6 leaves a margin
    /// for other SIMD paths while still catching any real mistake (a wrong weight moves logits by ~1e-2).
    /// </summary>
    private static readonly Tolerance PyTorchLogits = new(1e-5, 1e-6);

    [Fact]
    public void ConvNet_pytorch_state_dict_reproduces_pytorch_logits()
    {
        var model = new ConvNet();
        var result = model.LoadSafetensors(ConformanceModels.StateDict("seed_convnet"));
        Assert.Empty(result.MissingKeys);
        Assert.Empty(result.UnexpectedKeys);
        model.Eval();
        var logits = model.Forward(ConformanceModels.Input("seed_convnet"));
        var expected = ConformanceModels.Output("seed_convnet");
        Assert.Equal(expected.Shape, logits.Shape);
        TensorAssert.Close(expected.Data, logits.Data, PyTorchLogits, "seed_convnet logits");
    }

    [Fact]
    public void LeNet5_pytorch_state_dict_reproduces_pytorch_logits()
    {
        var model = LeNet5.Create();
        model.LoadSafetensors(ConformanceModels.StateDict("lenet5"));
        model.Eval();
        var logits = model.Forward(ConformanceModels.Input("lenet5"));
        var expected = ConformanceModels.Output("lenet5");
        Assert.Equal(expected.Shape, logits.Shape);
        TensorAssert.Close(expected.Data, logits.Data, PyTorchLogits, "lenet5 logits");
    }

    [Fact]
    public void Resaving_a_loaded_pytorch_file_reproduces_it_byte_for_byte()
    {
        using var dir = new TempDirectory();
        foreach (var (name, model) in new (string, Module)[] { ("seed_convnet", new ConvNet()), ("lenet5", LeNet5.Create()) })
        {
            string source = ConformanceModels.StateDict(name);
            model.LoadSafetensors(source);
            string copy = dir.File(name + ".safetensors");
            model.SaveSafetensors(copy);
            Assert.True(File.ReadAllBytes(source).AsSpan().SequenceEqual(File.ReadAllBytes(copy)), $"{name}: re-saved file differs from PyTorch's");
        }
    }

    [Fact]
    public void Pytorch_num_batches_tracked_loads_from_I64_and_saves_as_I64()
    {
        var model = new ConvNet();
        string source = ConformanceModels.StateDict("seed_convnet");
        long stored = SafeTensors.Read(source)["layer1.1.num_batches_tracked"].ToInt64Scalar();
        model.LoadSafetensors(source);
        var bn = (BatchNorm2d)model.Layer1[1];
        Assert.Equal(stored, (long)bn.NumBatchesTracked!.Data[0]);

        var entry = model.ToSafeTensorEntries().Single(e => e.Name == "layer1.1.num_batches_tracked");
        Assert.Equal(SafeTensorDType.Int64, entry.DType);
        Assert.Equal(0, entry.Shape.Rank);
        Assert.Equal(stored, entry.ToInt64Scalar());
    }

    [Fact]
    public void Save_then_load_is_bitwise_identical_for_every_parameter_and_buffer()
    {
        var source = TrainedLikeModel(seed: 1);
        using var dir = new TempDirectory();
        string path = dir.File("m.safetensors");
        source.SaveSafetensors(path);
        var target = TrainedLikeModel(seed: 2);
        target.LoadSafetensors(path);
        var expected = source.StateDict();
        var actual = target.StateDict();
        Assert.Equal(expected.Select(e => e.Key), actual.Select(e => e.Key));
        for (int i = 0; i < expected.Count; i++)
            Assert.True(MemoryMarshal.AsBytes(expected[i].Value.Data).SequenceEqual(MemoryMarshal.AsBytes(actual[i].Value.Data)), expected[i].Key);
        Assert.Equal(123f, ((BatchNorm2d)target.Layer1[1]).NumBatchesTracked!.Data[0]);
        // Saving the reloaded model reproduces the file.
        string again = dir.File("again.safetensors");
        target.SaveSafetensors(again);
        Assert.Equal(File.ReadAllBytes(path), File.ReadAllBytes(again));
    }

    [Theory]
    [InlineData(SafeTensorDType.Float16)]
    [InlineData(SafeTensorDType.BFloat16)]
    [InlineData(SafeTensorDType.Float64)]
    public void Reduced_and_double_precision_files_convert_on_load(SafeTensorDType dtype)
    {
        var source = TrainedLikeModel(seed: 3);
        using var dir = new TempDirectory();
        string path = dir.File("half.safetensors");
        source.SaveSafetensors(path, floatDType: dtype);
        var file = SafeTensors.Read(path);
        Assert.Equal(dtype, file["fc.weight"].DType);
        Assert.Equal(SafeTensorDType.Int64, file["layer1.1.num_batches_tracked"].DType);

        var target = TrainedLikeModel(seed: 4);
        target.LoadSafetensors(path);
        foreach (var (key, tensor) in source.StateDict())
        {
            float[] expected = key.EndsWith("num_batches_tracked", StringComparison.Ordinal)
                ? tensor.ToArray()
                : tensor.ToArray().Select(v => Round(v, dtype)).ToArray();
            Assert.Equal(expected, target.StateDict().Single(e => e.Key == key).Value.ToArray());
        }
        // The conversion actually rounded something (a broken writer that kept F32 would pass the loop above only for F64).
        if (dtype != SafeTensorDType.Float64)
            Assert.NotEqual(source.Fc.Weight.ToArray(), target.Fc.Weight.ToArray());
    }

    private static float Round(float v, SafeTensorDType dtype) => dtype switch
    {
        SafeTensorDType.Float16 => (float)(Half)v,
        SafeTensorDType.BFloat16 => BitConverter.UInt32BitsToSingle((uint)ElementCodec.ToBFloat16Bits(v) << 16),
        _ => v,
    };

    [Fact]
    public void Missing_unexpected_shape_and_dtype_problems_are_reported_together_and_nothing_changes()
    {
        var source = TrainedLikeModel(seed: 5);
        var entries = source.ToSafeTensorEntries()
            .Where(e => e.Name != "layer2.0.bias" && e.Name != "fc.bias")                       // missing
            .Select(e => e.Name switch
            {
                "fc.weight" => SafeTensorEntry.FromTensor("fc.weight", Tensor.Zeros(10, 100)),    // wrong shape
                "layer1.0.bias" => SafeTensorEntry.FromInt64("layer1.0.bias", new long[4], new Shape(4)), // integer weight
                _ => e,
            })
            .Append(SafeTensorEntry.FromTensor("extra.weight", Tensor.Zeros(3)))                  // unexpected
            .ToList();
        using var dir = new TempDirectory();
        string path = dir.File("bad.safetensors");
        SafeTensors.Write(path, entries);

        var target = TrainedLikeModel(seed: 6);
        var before = target.StateDict().Select(e => e.Value.ToArray()).ToList();
        var e = Assert.Throws<StateDictException>(() => target.LoadSafetensors(path));
        Assert.Contains("bad.safetensors", e.Message);
        Assert.Contains("missing keys: layer2.0.bias, fc.bias", e.Message);
        Assert.Contains("unexpected keys: extra.weight", e.Message);
        Assert.Contains("fc.weight: shape (10, 100) in the file, (10, 64) in the model", e.Message);
        Assert.Contains("layer1.0.bias: dtype I64", e.Message);
        Assert.Equal(before, target.StateDict().Select(s => s.Value.ToArray()).ToList());
    }

    [Fact]
    public void Non_strict_load_reports_unmatched_keys_and_loads_the_rest()
    {
        var source = TrainedLikeModel(seed: 7);
        var entries = source.ToSafeTensorEntries().Where(e => e.Name != "fc.bias")
            .Append(SafeTensorEntry.FromTensor("head.weight", Tensor.Zeros(2))).ToList();
        using var dir = new TempDirectory();
        string path = dir.File("partial.safetensors");
        SafeTensors.Write(path, entries);

        var target = TrainedLikeModel(seed: 8);
        float[] biasBefore = target.Fc.Bias!.ToArray();
        var result = target.LoadSafetensors(path, strict: false);
        Assert.Equal(["fc.bias"], result.MissingKeys);
        Assert.Equal(["head.weight"], result.UnexpectedKeys);
        Assert.Equal(source.Fc.Weight.ToArray(), target.Fc.Weight.ToArray());
        Assert.Equal(biasBefore, target.Fc.Bias!.ToArray());
        Assert.Throws<StateDictException>(() => target.LoadSafetensors(path, strict: true));
    }

    [Fact]
    public void A_batch_counter_stored_as_I32_or_float_loads()
    {
        var source = TrainedLikeModel(seed: 9);
        using var dir = new TempDirectory();
        foreach (var counter in new[]
        {
            SafeTensorEntry.FromInt64("layer1.1.num_batches_tracked", [42], new Shape(), SafeTensorDType.Int32),
            SafeTensorEntry.FromFloats("layer1.1.num_batches_tracked", [42f], new Shape()),
        })
        {
            string path = dir.File($"{counter.DType}.safetensors");
            SafeTensors.Write(path, source.ToSafeTensorEntries().Select(e => e.Name == counter.Name ? counter : e));
            var target = TrainedLikeModel(seed: 10);
            target.LoadSafetensors(path);
            Assert.Equal(42f, ((BatchNorm2d)target.Layer1[1]).NumBatchesTracked!.Data[0]);
        }
    }

    [Fact]
    public void A_corrupt_file_is_a_format_error_and_leaves_the_module_unchanged()
    {
        var source = TrainedLikeModel(seed: 11);
        using var dir = new TempDirectory();
        string path = dir.File("cut.safetensors");
        source.SaveSafetensors(path);
        byte[] bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^5]);
        var target = TrainedLikeModel(seed: 12);
        float[] before = target.Fc.Weight.ToArray();
        var e = Assert.Throws<SafeTensorsFormatException>(() => target.LoadSafetensors(path));
        Assert.Contains("cut.safetensors", e.Message);
        Assert.Equal(before, target.Fc.Weight.ToArray());
    }

    [Fact]
    public void Saving_over_an_existing_file_is_atomic_when_the_dtype_is_refused()
    {
        var model = TrainedLikeModel(seed: 13);
        using var dir = new TempDirectory();
        string path = dir.File("keep.safetensors");
        model.SaveSafetensors(path);
        byte[] before = File.ReadAllBytes(path);
        Assert.Throws<ArgumentException>(() => model.SaveSafetensors(path, floatDType: SafeTensorDType.Int32));
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Single(Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void Default_metadata_marks_the_file_as_pytorch_and_custom_metadata_replaces_it()
    {
        var model = TrainedLikeModel(seed: 14);
        using var dir = new TempDirectory();
        model.SaveSafetensors(dir.File("a.safetensors"));
        Assert.Equal("pt", SafeTensors.Read(dir.File("a.safetensors")).Metadata["format"]);
        model.SaveSafetensors(dir.File("b.safetensors"), new Dictionary<string, string> { ["note"] = "x" });
        var metadata = SafeTensors.Read(dir.File("b.safetensors")).Metadata;
        Assert.Equal("x", metadata["note"]);
        Assert.False(metadata.ContainsKey("format"));
    }

    /// <summary>A small ConvNet-shaped model with random weights and non-default batch-norm statistics.</summary>
    private static SmallNet TrainedLikeModel(int seed)
    {
        var model = new SmallNet(new Generator((ulong)seed));
        var g = new Generator((ulong)seed + 1000);
        foreach (var (key, buffer) in model.NamedBuffers())
        {
            if (key.EndsWith("num_batches_tracked", StringComparison.Ordinal)) buffer.Data[0] = 123;
            else Tensor.Uniform(g, buffer.Shape, 0.5f, 1.5f).Data.CopyTo(buffer.Data);
        }
        return model;
    }

    private sealed class SmallNet : Module
    {
        public SmallNet(Generator generator)
        {
            Layer1 = RegisterModule("layer1", new Sequential(new Conv2d(1, 4, 3, padding: 1, generator: generator), new BatchNorm2d(4), new ReLU()));
            Layer2 = RegisterModule("layer2", new Sequential(new Conv2d(4, 4, 3, padding: 1, generator: generator), new BatchNorm2d(4), new ReLU()));
            Fc = RegisterModule("fc", new Linear(64, 10, generator: generator));
        }

        public Sequential Layer1 { get; }
        public Sequential Layer2 { get; }
        public Linear Fc { get; }

        public override Tensor Forward(Tensor input)
        {
            var x = Layer2.Forward(Layer1.Forward(input));
            return Fc.Forward(x.Reshape(x.Shape[0], -1));
        }
    }
}
