using CnnSharp.Functional;
using CnnSharp.Models;
using CnnSharp.Modules;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Models;

/// <summary>
/// ResNet-20, torchvision's ResNet-18 and MobileNetV2 against the key/shape lists PyTorch 1.13 and torchvision 0.14
/// print for the same models (Fixtures/models/*_state_dict.json, written by tests/reference/generate_torch_fixtures.py),
/// and the zoo registry. Their numerics against PyTorch are in IO/TorchFileTests (weights loaded from torch.save files).
/// </summary>
public sealed class ZooModelTests
{
    private static Module Create(string fixture) => fixture switch
    {
        "resnet9" => new ResNet9(generator: new Generator(1)),
        "resnet20" => new ResNet20(generator: new Generator(1)),
        "resnet18" => ResNet.ResNet18(generator: new Generator(1)),
        "mobilenet_v2" => new MobileNetV2(generator: new Generator(1)),
        _ => throw new ArgumentOutOfRangeException(nameof(fixture), fixture, "no such fixture"),
    };

    [Theory]
    [InlineData("resnet9", 412_666)]
    [InlineData("resnet20", 272_474)]
    [InlineData("resnet18", 11_689_512)]
    [InlineData("mobilenet_v2", 3_504_872)]
    public void State_dict_keys_shapes_parameter_names_and_count_equal_pytorch(string fixture, int parameterCount)
    {
        var fx = JsonFixture.Load($"models/{fixture}_state_dict.json");
        Assert.Equal(parameterCount, fx.GetProperty("parameter_count").GetInt32());
        var expected = fx.GetProperty("state_dict").EnumerateArray()
            .Select(e => (Key: e.GetProperty("key").GetString()!, Shape: e.GetProperty("shape").Ints())).ToList();
        var model = Create(fixture);
        var actual = model.StateDict();
        Assert.Equal(expected.Select(e => e.Key), actual.Select(e => e.Key));
        foreach (var ((key, shape), (_, tensor)) in expected.Zip(actual))
        {
            // num_batches_tracked is a 0-d int64 in PyTorch and a one-element float buffer here (saved as I64).
            if (key.EndsWith("num_batches_tracked", StringComparison.Ordinal)) Assert.Equal(1, tensor.Numel);
            else Assert.True(tensor.Shape.Equals(shape), $"{key}: {tensor.Shape}, PyTorch {Shape.Format(shape)}");
        }
        Assert.Equal(fx.GetProperty("parameters").EnumerateArray().Select(p => p.GetString()), model.NamedParameters().Select(p => p.Key));
        Assert.Equal(parameterCount, model.Parameters().Sum(p => p.Numel));
    }

    [Fact]
    public void Resnet34_has_torchvisions_parameter_count()
    {
        // torchvision.models.resnet34(): 21,797,672 parameters (PyTorch 1.13 / torchvision 0.14).
        Assert.Equal(21_797_672, ResNet.ResNet34(generator: new Generator(1)).Parameters().Sum(p => p.Numel));
    }

    [Fact]
    public void Resnet20_has_three_blocks_per_stage_and_projects_only_where_the_shape_changes()
    {
        var model = new ResNet20(generator: new Generator(1));
        Assert.Equal(20, model.Depth);
        var blocks = model.NamedModules().Where(m => m.Value is BasicBlock).ToList();
        Assert.Equal(9, blocks.Count);
        Assert.Equal(["layer2.0", "layer3.0"], blocks.Where(b => ((BasicBlock)b.Value).Downsample is not null).Select(b => b.Key));
        Assert.Equal(20, model.NamedModules().Count(m => m.Value is Conv2d { KernelSize: (3, 3) } or Linear));
        var x = Tensor.Randn(new Generator(2), 2, 3, 32, 32);
        var stem = model.Relu.Forward(model.Bn1.Forward(model.Conv1.Forward(x)));
        TensorAssert.ShapeIs(model.Layer1.Forward(stem), 2, 16, 32, 32);
        TensorAssert.ShapeIs(model.Layer3.Forward(model.Layer2.Forward(model.Layer1.Forward(stem))), 2, 64, 8, 8);
        TensorAssert.ShapeIs(model.Forward(x), 2, 10);
    }

    [Fact]
    public void Resnet18_stages_have_torchvisions_shapes_and_options_change_only_the_ends()
    {
        var model = ResNet.ResNet18(numClasses: 7, inChannels: 1, width: 8, generator: new Generator(3));
        var x = Tensor.Randn(new Generator(4), 1, 1, 64, 64);
        var stem = model.MaxPool.Forward(model.Relu.Forward(model.Bn1.Forward(model.Conv1.Forward(x))));
        TensorAssert.ShapeIs(stem, 1, 8, 16, 16);
        var l1 = model.Layer1.Forward(stem);
        var l2 = model.Layer2.Forward(l1);
        var l3 = model.Layer3.Forward(l2);
        TensorAssert.ShapeIs(l1, 1, 8, 16, 16);
        TensorAssert.ShapeIs(l2, 1, 16, 8, 8);
        TensorAssert.ShapeIs(l3, 1, 32, 4, 4);
        TensorAssert.ShapeIs(model.Layer4.Forward(l3), 1, 64, 2, 2);
        TensorAssert.ShapeIs(model.Forward(x), 1, 7);
        TensorAssert.ShapeIs(model.Conv1.Weight, 8, 1, 7, 7);
        Assert.Equal(["layer2.0", "layer3.0", "layer4.0"],
            model.NamedModules().Where(m => m.Value is BasicBlock { Downsample: not null }).Select(m => m.Key));
        var ex = Assert.Throws<ShapeException>(() => model.Forward(Tensor.Zeros(1, 3, 64, 64)));
        Assert.Contains("ResNet: expected input (N, 1, H, W), got (1, 3, 64, 64)", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Resnet18_convolutions_get_torchvisions_kaiming_normal_fan_out_initialisation()
    {
        // std = sqrt(2 / fan_out); layer4's 3x3 convolutions have fan_out 512 * 9, 2.36M samples: the sample std is
        // within 0.2% of it (4 standard errors), while PyTorch's default kaiming_uniform(a=sqrt(5)) would give
        // 1/sqrt(3 * fan_in) = 0.0085, 30% below.
        var model = ResNet.ResNet18(generator: new Generator(5));
        var w = model.Layer4[1].StateDict().First(e => e.Key == "conv1.weight").Value.ToArray();
        double mean = w.Average(v => (double)v);
        double std = Math.Sqrt(w.Average(v => (v - mean) * (v - mean)));
        Assert.Equal(Math.Sqrt(2.0 / (512 * 9)), std, 0.00005);
        Assert.All(model.NamedModules().Select(m => m.Value).OfType<BatchNorm2d>(), bn => Assert.All(bn.Weight!.ToArray(), v => Assert.Equal(1f, v)));
    }

    [Fact]
    public void Mobilenet_v2_blocks_follow_torchvisions_settings()
    {
        var model = new MobileNetV2(numClasses: 10, widthMult: 0.25f, generator: new Generator(6));
        var blocks = model.Features.NamedChildren().Select(c => c.Value).OfType<InvertedResidual>().ToList();
        Assert.Equal(17, blocks.Count);
        Assert.Equal([1, 2, 1, 2, 1, 1, 2, 1, 1, 1, 1, 1, 1, 2, 1, 1, 1], blocks.Select(b => b.Stride));
        Assert.Equal([1, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6], blocks.Select(b => b.ExpandRatio));
        // Residual where stride 1 and channels unchanged: the 10 repeats of the settings, plus (at this width, where
        // 32 and 16 both round to 8) the first block, as in torchvision (use_res_connect is true for 11 blocks).
        Assert.Equal(11, blocks.Count(b => b.UseResidual));
        // width 0.25: 32 -> 8, 16 -> 8, 24 -> 8, 32 -> 8, 64 -> 16, 96 -> 24, 160 -> 40, 320 -> 80; last stays 1280.
        Assert.Equal([8, 8, 8, 8, 8, 8, 8, 16, 16, 16, 16, 24, 24, 24, 40, 40, 40], blocks.Select(b => b.InChannels));
        Assert.Equal(80, blocks[^1].OutChannels);
        Assert.Equal(1280, model.LastChannels);
        var x = Tensor.Randn(new Generator(7), 2, 3, 32, 32);
        TensorAssert.ShapeIs(model.Features.Forward(x), 2, 1280, 1, 1);
        TensorAssert.ShapeIs(model.Forward(x), 2, 10);
    }

    [Theory]
    [InlineData(32 * 1.0, 32)]
    [InlineData(32 * 0.25, 8)]
    [InlineData(16 * 0.35, 8)]
    [InlineData(24 * 0.35, 8)]
    [InlineData(96 * 0.35, 32)]
    [InlineData(160 * 0.75, 120)]
    [InlineData(1280 * 1.4, 1792)]
    [InlineData(12, 16)]
    [InlineData(92, 96)]
    public void Make_divisible_matches_torchvision(double value, int expected)
    {
        // Values from torchvision.models._utils._make_divisible(value, 8) (0.35 * 96 = 33.6 rounds down to 32: within 10%).
        Assert.Equal(expected, MobileNetV2.MakeDivisible(value));
    }

    [Fact]
    public void Mobilenet_v2_trains_every_parameter_and_compiles_with_relu6_as_a_compiled_clamp()
    {
        var model = new MobileNetV2(numClasses: 5, widthMult: 0.25f, dropout: 0f, generator: new Generator(8));
        var x = Tensor.Randn(new Generator(9), 2, 3, 32, 32);
        F.CrossEntropy(model.Forward(x), [0, 3]).Backward();
        // Every parameter gets a gradient; every weight a non-zero one. (The bias of a projection's batch norm can get an
        // exactly zero gradient: in training mode its per-channel shift reaches the next batch norm through linear layers
        // only, and that batch norm subtracts it again.)
        foreach (var (name, p) in model.NamedParameters())
            Assert.True(p.Grad is not null && (name.EndsWith(".bias", StringComparison.Ordinal) || p.Grad.ToArray().Any(v => v != 0f)),
                $"{name} has no or an all-zero gradient");

        model.Eval();
        var eager = model.Forward(x).ToArray();
        var compiled = model.Compile(2, 3, 32, 32);
        Assert.Null(compiled.FallbackReason);
        TensorAssert.Close(TensorAssert.ToDouble(eager), compiled.Forward(x), new Tolerance(1e-4, 1e-5));
        Assert.Empty(compiled.GraphBreaks);
    }

    [Fact]
    public void Inverted_residual_adds_the_input_only_when_the_shape_is_kept()
    {
        // Zeroing the projection's batch-norm affine makes the branch output exactly 0 (eval, unit statistics), so the
        // block returns x where it has a residual, and 0 where it does not.
        var x = Tensor.Randn(new Generator(10), 1, 8, 4, 4);
        foreach (var (block, residual) in new[] { (new InvertedResidual(8, 8, 1, 6), true), (new InvertedResidual(8, 8, 2, 6), false) })
        {
            var bn = (BatchNorm2d)block.Conv[block.Conv.Count - 1];
            bn.Weight!.Data.Clear();
            bn.Bias!.Data.Clear();
            block.Eval();
            var y = block.Forward(x);
            Assert.Equal(residual, block.UseResidual);
            if (residual) Assert.Equal(x.ToArray(), y.ToArray());
            else Assert.All(y.ToArray(), v => Assert.Equal(0f, v));
        }
    }

    [Fact]
    public void Zoo_lists_every_model_and_builds_each_with_the_options()
    {
        Assert.Equal(["convnet", "lenet5", "vgg-small", "resnet8", "resnet9", "resnet20", "resnet18", "mobilenet-v2"], ModelZoo.Names);
        foreach (var info in ModelZoo.Models)
        {
            var options = info.FixedInput
                ? new ZooOptions { NumClasses = 7, Generator = new Generator(11) }
                : new ZooOptions { InChannels = 1, NumClasses = 7, ImageSize = 32, Generator = new Generator(11) };
            var model = ModelZoo.Create(info.Name, options);
            int channels = info.FixedInput ? info.InChannels : 1;
            int size = info.FixedInput ? info.ImageSize : 32;
            model.Eval();
            TensorAssert.ShapeIs(model.Forward(Tensor.Randn(new Generator(12), 2, channels, size, size)), 2, 7);
        }
        Assert.IsType<ResNet20>(ModelZoo.Create("ResNet20"));
        Assert.Equal(1000, ((ResNet)ModelZoo.Create("resnet18", new ZooOptions { Generator = new Generator(1) })).NumClasses);
        Assert.Equal([3, 224, 224], ModelZoo.Get("mobilenet-v2").InputShape);
    }

    [Fact]
    public void Zoo_refuses_unknown_names_and_options_a_model_cannot_take()
    {
        var unknown = Assert.Throws<ArgumentException>(() => ModelZoo.Create("resnet50"));
        Assert.Contains("unknown model 'resnet50'; the zoo has: convnet, lenet5, vgg-small, resnet8, resnet9, resnet20, resnet18, mobilenet-v2", unknown.Message, StringComparison.Ordinal);
        var fixedInput = Assert.Throws<ArgumentException>(() => ModelZoo.Create("convnet", new ZooOptions { InChannels = 3 }));
        Assert.Contains("convnet: takes 1x28x28 images only", fixedInput.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => ModelZoo.Create("lenet5", new ZooOptions { ImageSize = 32 }));
        var small = Assert.Throws<ArgumentException>(() => ModelZoo.Create("vgg-small", new ZooOptions { ImageSize = 2 }));
        Assert.Contains("vgg-small: image size must be at least 4, got 2", small.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => ModelZoo.Create("resnet8", new ZooOptions { NumClasses = 0 }));
    }
}
