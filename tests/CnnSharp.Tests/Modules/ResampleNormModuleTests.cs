using CnnSharp.Autograd;
using CnnSharp.Functional;
using CnnSharp.Modules;
using CnnSharp.Tests.Compile;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Modules;

/// <summary>The issue-10 layers: PyTorch's state-dict keys, shapes, initial values (where deterministic), reprs, and compiled models.</summary>
public sealed class ResampleNormModuleTests
{
    private static Module Create(string key) => key switch
    {
        "conv_transpose2d" => new ConvTranspose2d(4, 6, (3, 2), stride: (2, 2), padding: (1, 1), outputPadding: (1, 1), groups: 2),
        "conv_transpose2d_nobias" => new ConvTranspose2d(3, 5, 4, stride: 2, padding: 1, bias: false, dilation: 2),
        "dropout2d" => new Dropout2d(0.3f),
        "upsample_nearest" => new Upsample(2.0),
        "upsample_bilinear" => new Upsample((5, 7), mode: InterpolationMode.Bilinear, alignCorners: true),
        "group_norm" => new GroupNorm(2, 6),
        "group_norm_noaffine" => new GroupNorm(3, 6, eps: 1e-3f, affine: false),
        "layer_norm" => new LayerNorm([4, 5]),
        "layer_norm_noaffine" => new LayerNorm(6, eps: 1e-6f, elementwiseAffine: false),
        _ => throw new ArgumentException(key),
    };

    public static TheoryData<string> Keys
    {
        get
        {
            var data = new TheoryData<string>();
            foreach (var m in JsonFixture.Load("training/modules_state_dict.json").GetProperty("modules").EnumerateObject()) data.Add(m.Name);
            return data;
        }
    }

    [Theory, MemberData(nameof(Keys))]
    public void State_dict_and_repr_match_pytorch(string key)
    {
        var fx = JsonFixture.Load("training/modules_state_dict.json").GetProperty("modules").GetProperty(key);
        var module = Create(key);
        var expected = fx.GetProperty("state_dict").EnumerateArray().Select(e => (e.GetProperty("key").GetString()!, Shape.Format(e.GetProperty("shape").Ints()))).ToList();
        var actual = module.StateDict().Select(e => (e.Key, e.Value.Shape.ToString())).ToList();
        Assert.Equal(expected, actual);
        Assert.Equal(fx.GetProperty("repr").GetString(), module.ToString());
        // Norm layers start deterministic (ones and zeros) exactly as PyTorch's; conv weights are random (checked below).
        if (key.Contains("norm", StringComparison.Ordinal))
            foreach (var (name, t) in module.StateDict())
                Assert.Equal(fx.GetProperty("values").GetProperty(name).Floats(), t.ToArray());
    }

    [Fact]
    public void ConvTranspose2d_init_is_uniform_within_one_over_sqrt_fan_in_of_the_weight_shape()
    {
        // PyTorch computes fan_in from the weight (in, out/groups, KH, KW): out/groups * KH * KW = 3 * 5 * 5.
        var layer = new ConvTranspose2d(8, 6, 5, groups: 2, generator: new Generator(1));
        double bound = 1 / Math.Sqrt(3 * 5 * 5);
        var w = layer.Weight.ToArray();
        Assert.All(w, v => Assert.InRange(v, -bound, bound));
        Assert.True(w.Max() > 0.9 * bound && w.Min() < -0.9 * bound, "the weights should fill the range");
        Assert.All(layer.Bias!.ToArray(), v => Assert.InRange(v, -bound, bound));
        Assert.Equal(new[] { 8, 3, 5, 5 }, layer.Weight.Shape.ToArray());
    }

    [Fact]
    public void Constructors_reject_bad_settings()
    {
        Assert.Throws<ShapeException>(() => new ConvTranspose2d(4, 6, 3, groups: 4));
        Assert.Contains("output_padding", Assert.Throws<ShapeException>(() => new ConvTranspose2d(2, 2, 3, stride: 2, outputPadding: 2)).Message, StringComparison.Ordinal);
        Assert.Throws<ShapeException>(() => new GroupNorm(4, 6));
        Assert.Throws<ShapeException>(() => new LayerNorm([]));
        Assert.Throws<ArgumentException>(() => new Upsample());
        Assert.Throws<ArgumentException>(() => new Upsample(2.0, InterpolationMode.Nearest, alignCorners: false));
        Assert.Throws<ShapeException>(() => new Upsample((0, 3)));
        var gn = Assert.Throws<ShapeException>(() => new GroupNorm(2, 6).Forward(Tensor.Zeros(1, 4, 2, 2)));
        Assert.Contains("GroupNorm: expected an input (N, 6, ...), got (1, 4, 2, 2)", gn.Message, StringComparison.Ordinal);
    }

    /// <summary>An encoder-decoder using every new layer, so a compiled model must replay each as a graph break.</summary>
    private sealed class UNetLike : Module
    {
        private readonly Sequential _net;

        public UNetLike(Generator g)
        {
            _net = RegisterModule("net", new Sequential(
                new Conv2d(2, 6, 3, padding: 1, generator: g),
                new GroupNorm(3, 6),
                new ReLU(),
                new Dropout2d(0.25f, new Generator(5)),
                new ConvTranspose2d(6, 4, 4, stride: 2, padding: 1, generator: g),
                new LayerNorm([8, 8]),
                new Upsample(0.5, InterpolationMode.Bilinear),
                new Upsample((8, 8)),
                new Conv2d(4, 3, 3, padding: 1, generator: g),
                new AdaptiveAvgPool2d(1),
                new Flatten()));
        }

        public override Tensor Forward(Tensor input) => _net.Forward(input);
    }

    [Fact]
    public void A_model_with_every_new_layer_compiles_with_graph_breaks_and_trains_like_eager()
    {
        var eager = new UNetLike(new Generator(2));
        var m = new UNetLike(new Generator(2));
        TestNets.CopyState(eager, m);
        eager.Eval();
        m.Eval();
        var compiled = m.Compile(2, 2, 4, 4);
        Assert.Null(compiled.FallbackReason);
        string breaks = string.Join(",", compiled.GraphBreaks);
        foreach (var op in new[] { "GroupNorm", "ConvTranspose2d", "LayerNorm", "Interpolate" })
            Assert.Contains(op, breaks, StringComparison.Ordinal);
        int[] labels = [0, 2];
        for (int step = 0; step < 2; step++)
        {
            var x = Tensor.Randn(new Generator((ulong)(20 + step)), 2, 2, 4, 4);
            eager.ZeroGrad();
            var loss = F.CrossEntropy(eager.Forward(x), labels);
            loss.Backward();
            float compiledLoss = compiled.TrainStep(x, labels);
            Assert.Equal(loss.Item(), compiledLoss, 4);
            var cp = m.NamedParameters().ToDictionary(p => p.Key, p => p.Value);
            foreach (var (key, p) in eager.NamedParameters())
                TensorAssert.Close(p.Grad!.Data, cp[key].Grad!.Data, new Tolerance(2e-3, 2e-5), $"step {step} grad {key}");
        }
        using (GradMode.NoGrad())
        {
            var probe = Tensor.Randn(new Generator(3), 2, 2, 4, 4);
            TensorAssert.Close(eager.Forward(probe).Data, compiled.Forward(probe).Data, new Tolerance(2e-4, 2e-5), "eval output");
        }

        // In training mode Dropout2d is a graph break too (it draws fresh masks at every step).
        var training = new UNetLike(new Generator(2)).Compile(2, 2, 4, 4);
        Assert.Null(training.FallbackReason);
        Assert.Contains("Dropout2d", string.Join(",", training.GraphBreaks), StringComparison.Ordinal);
        Assert.True(float.IsFinite(training.TrainStep(Tensor.Randn(new Generator(4), 2, 2, 4, 4), labels)));
    }
}
