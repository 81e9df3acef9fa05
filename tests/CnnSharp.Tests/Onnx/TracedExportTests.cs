using CnnSharp.Functional;
using CnnSharp.Models;
using CnnSharp.Modules;
using CnnSharp.Onnx;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Onnx;

/// <summary>
/// The traced exporter on models with their own Forward: every zoo model and custom modules with residual adds,
/// concatenations and the other functional ops, checked against eager eval-mode outputs in ONNX Runtime and in
/// CnnSharp's own <see cref="OnnxSession"/>, at the traced input shape and another one.
/// </summary>
public sealed class TracedExportTests
{
    /// <summary>Float32 sums in different orders (and ORT's batch-norm folding): agreement to accumulation error.</summary>
    private static readonly Tolerance Runtime = new(1e-4, 1e-5);

    /// <summary>Each zoo model with 10 classes, the sample it is exported at and a second sample shape (null: fixed-input model).</summary>
    public static TheoryData<string, int[], int[]?> ZooCases => new()
    {
        { "convnet", [1, 28, 28], null },
        { "lenet5", [1, 28, 28], null },
        { "vgg-small", [3, 32, 32], [3, 24, 40] },
        { "resnet8", [3, 32, 32], [3, 20, 28] },
        { "resnet20", [3, 32, 32], [1, 16, 16] },
        { "resnet18", [3, 32, 32], [3, 40, 24] },
        { "mobilenet-v2", [3, 32, 32], [3, 24, 24] },
    };

    [Theory]
    [MemberData(nameof(ZooCases))]
    public void Zoo_model_exports_and_runs_in_onnx_runtime_and_onnx_session_like_eager_eval(string name, int[] sample, int[]? other)
    {
        var model = ModelZoo.Create(name, new ZooOptions { InChannels = sample[0], NumClasses = 10, ImageSize = sample[1], Generator = new Generator(3) });
        OnnxExporterTests.RandomizeBatchNorm(model, seed: 11);
        CheckBothRuntimes(model, sample, batch: 2, name);
        if (other is null) return;
        // Another input shape (and channel count where given): a new model of that layout, exported at that shape.
        var second = ModelZoo.Create(name, new ZooOptions { InChannels = other[0], NumClasses = 10, ImageSize = other[1], Generator = new Generator(4) });
        OnnxExporterTests.RandomizeBatchNorm(second, seed: 12);
        CheckBothRuntimes(second, other, batch: 3, $"{name} at {string.Join("x", other)}");
    }

    [Fact]
    public void Zoo_model_initializers_carry_the_state_dict_keys_and_nodes_the_module_paths()
    {
        var model = ModelZoo.Create("resnet8", new ZooOptions { Generator = new Generator(5) });
        var onnx = OnnxModel.Parse(OnnxExporter.ExportToBytes(model, [1, 3, 32, 32]));
        var keys = model.StateDict().Select(e => e.Key).Where(k => !k.EndsWith("num_batches_tracked", StringComparison.Ordinal)).ToHashSet();
        Assert.Subset(onnx.Graph.Initializers.Select(t => t.Name).ToHashSet(), keys); // every state-dict tensor under its key
        Assert.Contains(onnx.Graph.Nodes, n => n.Name.StartsWith("/layer2/0/", StringComparison.Ordinal) && n.OpType == "Add");
        Assert.Contains(onnx.Graph.Nodes, n => n.OpType == "GlobalAveragePool");
    }

    [Fact]
    public void Custom_module_with_a_residual_add_and_a_concat_exports_and_runs_in_both_runtimes()
    {
        var model = new Branchy(new Generator(6));
        OnnxExporterTests.RandomizeBatchNorm(model, seed: 13);
        CheckBothRuntimes(model, [3, 9, 10], batch: 2, "Branchy");
        var onnx = OnnxModel.Parse(OnnxExporter.ExportToBytes(model, [1, 3, 9, 10]));
        Assert.Contains(onnx.Graph.Nodes, n => n.OpType == "Concat");
        Assert.Contains(onnx.Graph.Nodes, n => n.OpType == "Add" && n.Name.StartsWith("/Add", StringComparison.Ordinal));
        Assert.Contains(onnx.Graph.Initializers, t => t.Name == "scale");
    }

    [Fact]
    public void Functional_ops_without_modules_export_and_run_in_both_runtimes()
    {
        var model = new ManyOps(new Generator(7));
        CheckBothRuntimes(model, [4, 6, 5], batch: 3, "ManyOps");
    }

    [Fact]
    public void Upsampling_exports_as_resize_and_runs_in_onnx_runtime()
    {
        // CnnSharp's own ONNX runtime has no Resize yet: ONNX Runtime is the reference here.
        var model = new Sequential(
            new Conv2d(2, 3, 3, padding: 1, generator: new Generator(8)),
            new Upsample(2.0),
            new Upsample(size: (13, 11), mode: InterpolationMode.Bilinear),
            new Upsample(scaleFactor: (1.5, 2.0), mode: InterpolationMode.Bilinear, alignCorners: true),
            new Upsample(size: (38, 44)));
        byte[] onnx = OnnxExporter.ExportToBytes(model, [1, 2, 5, 6]);
        Assert.Contains(OnnxModel.Parse(onnx).Graph.Nodes, n => n.OpType == "Resize");
        var input = Tensor.Uniform(new Generator(9), new Shape(2, 2, 5, 6), -1f, 1f);
        model.Eval();
        var expected = model.Forward(input);
        var actual = OnnxRuntimeRunner.Run(onnx, input);
        Assert.Equal(expected.Shape, actual.Shape);
        TensorAssert.Close(expected.Data, actual.Data, Runtime, "Upsample");
    }

    [Fact]
    public void Fixed_batch_export_has_no_symbolic_dimension()
    {
        var model = ModelZoo.Create("resnet8", new ZooOptions { Generator = new Generator(10) });
        byte[] bytes = OnnxExporter.ExportToBytes(model, [2, 3, 16, 16], dynamicBatch: false);
        var onnx = OnnxModel.Parse(bytes);
        Assert.Equal([2L, 3, 16, 16], onnx.Graph.Inputs[0].Shape!.Select(d => d.Value!.Value));
        Assert.Equal([2L, 10], onnx.Graph.Outputs[0].Shape!.Select(d => d.Value!.Value));
        var input = Tensor.Uniform(new Generator(11), new Shape(2, 3, 16, 16), -1f, 1f);
        model.Eval();
        TensorAssert.Close(model.Forward(input).Data, OnnxRuntimeRunner.Run(bytes, input).Data, Runtime, "fixed batch");
    }

    [Fact]
    public void Op_without_onnx_mapping_is_a_typed_error_naming_the_op_and_the_module()
    {
        var model = new Sequential(new Conv2d(1, 2, 3, generator: new Generator(12)), new Sequential(new ReLU(), new LossLayer()));
        var e = Assert.Throws<OnnxExportException>(() => OnnxExporter.ExportToBytes(model, [1, 1, 5, 5]));
        Assert.Equal("1.1", e.ModulePath);
        Assert.Equal(nameof(LossLayer), e.ModuleType);
        Assert.Contains("MseLoss", e.Message);
        Assert.Contains("no ONNX mapping", e.Message);
    }

    [Fact]
    public void Reshape_that_folds_the_batch_into_features_needs_a_fixed_batch()
    {
        var model = new FoldsBatch();
        var e = Assert.Throws<OnnxExportException>(() => OnnxExporter.ExportToBytes(model, [2, 3, 4]));
        Assert.Contains("fixed batch", e.Message);
        // With a fixed batch the same model exports and runs.
        byte[] bytes = OnnxExporter.ExportToBytes(model, [2, 3, 4], dynamicBatch: false);
        var input = Tensor.Uniform(new Generator(13), new Shape(2, 3, 4), -1f, 1f);
        TensorAssert.Close(model.Forward(input).Data, OnnxRuntimeRunner.Run(bytes, input).Data, Runtime, "fixed batch reshape");
    }

    [Fact]
    public void Failed_traced_export_keeps_the_previous_file_and_leaves_no_temporary_file()
    {
        using var dir = new TempDirectory();
        string path = dir.File("model.onnx");
        var good = new Branchy(new Generator(14));
        OnnxExporter.Export(good, [1, 3, 8, 8], path);
        byte[] before = File.ReadAllBytes(path);
        Assert.Throws<OnnxExportException>(() => OnnxExporter.Export(new Sequential(new LossLayer()), [1, 3, 8, 8], path));
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Equal([path], Directory.GetFiles(dir.Path));
        Assert.Single(OnnxSession.Load(path).InputNames);
    }

    private static void CheckBothRuntimes(Module model, int[] sample, int batch, string what)
    {
        byte[] onnx = OnnxExporter.ExportToBytes(model, [1, .. sample]);
        var input = Tensor.Uniform(new Generator(21), new Shape([batch, .. sample]), -1f, 1f);
        model.Eval();
        var expected = model.Forward(input);
        var ort = OnnxRuntimeRunner.Run(onnx, input);
        Assert.Equal(expected.Shape, ort.Shape);
        TensorAssert.Close(expected.Data, ort.Data, Runtime, what + " (ONNX Runtime)");
        var own = new OnnxSession(OnnxModel.Parse(onnx, what)).Run(input);
        Assert.Equal(expected.Shape, own.Shape);
        TensorAssert.Close(expected.Data, own.Data, Runtime, what + " (OnnxSession)");
    }

    /// <summary>A residual block with a learned per-channel scale, a concatenated side branch and a small head.</summary>
    private sealed class Branchy : Module
    {
        private readonly Conv2d _conv1, _conv2, _side;
        private readonly BatchNorm2d _bn;
        private readonly Linear _head;
        private readonly Tensor _scale;

        public Branchy(Generator g)
        {
            _conv1 = RegisterModule("conv1", new Conv2d(3, 8, 3, padding: 1, generator: g));
            _bn = RegisterModule("bn", new BatchNorm2d(8));
            _conv2 = RegisterModule("conv2", new Conv2d(8, 8, 3, padding: 1, bias: false, generator: g));
            _side = RegisterModule("side", new Conv2d(3, 4, 1, stride: 2, generator: g));
            _head = RegisterModule("head", new Linear(12, 5, generator: g));
            _scale = RegisterParameter("scale", Tensor.Uniform(g, new Shape(8, 1, 1), 0.5f, 1.5f));
        }

        public override Tensor Forward(Tensor input)
        {
            var a = F.Relu(_bn.Call(_conv1.Call(input)));
            var residual = F.Relu6(F.Add(F.Mul(_conv2.Call(a), _scale), a));
            var pooled = F.MaxPool2d(residual, 2, ceilMode: true);
            var joined = F.Cat([pooled, F.LeakyRelu(_side.Call(input), 0.1f)], dim: 1);
            var features = F.Flatten(F.AdaptiveAvgPool2d(joined, 1), startDim: 1);
            return F.LogSoftmax(_head.Call(features), dim: 1);
        }
    }

    /// <summary>Functional ops in one forward: transposed conv, group and layer norm, slices, stacks, permutes, reductions.</summary>
    private sealed class ManyOps : Module
    {
        private readonly ConvTranspose2d _up;
        private readonly GroupNorm _gn;
        private readonly LayerNorm _ln;

        public ManyOps(Generator g)
        {
            _up = RegisterModule("up", new ConvTranspose2d(4, 6, 3, stride: 2, padding: 1, outputPadding: 1, generator: g));
            _gn = RegisterModule("gn", new GroupNorm(3, 6));
            _ln = RegisterModule("ln", new LayerNorm(10));
        }

        public override Tensor Forward(Tensor input)
        {
            var x = _gn.Call(_up.Call(input));                     // (N, 6, 12, 10)
            x = _ln.Call(F.Sigmoid(x));                            // normalised over the last dimension
            var top = F.Narrow(x, 2, 0, 6);                        // (N, 6, 6, 10)
            var odd = F.Slice(x, 2, start: 1, step: 2);            // (N, 6, 6, 10)
            var both = F.Stack([top, F.Tanh(odd)], dim: 1);        // (N, 2, 6, 6, 10)
            var summed = F.Sum(both, 1);                           // (N, 6, 6, 10)
            var t = F.Permute(summed, 0, 3, 1, 2);                 // (N, 10, 6, 6)
            t = F.Transpose(t, 2, 3);
            var mean = F.Mean(t, dim: -1, keepDim: true);          // (N, 10, 6, 1)
            var shifted = F.Sub(t, mean) * 0.5f;
            var flat = F.Flatten(F.Exp(F.Affine(shifted, 0.25f, 0.1f)), startDim: 1);
            return F.Softmax(F.Div(flat, F.Add(F.Log(F.Affine(flat, 1f, 2f)), flat)), dim: -1);
        }
    }

    /// <summary>An op with no ONNX form in the exporter (a loss inside the forward).</summary>
    private sealed class LossLayer : Module
    {
        public override Tensor Forward(Tensor input) => F.MseLoss(input, Tensor.Zeros(input.Shape));
    }

    /// <summary>Reshapes (N, 3, 4) to (3, 4N): the output's batch leaves dimension 0, which a symbolic batch cannot express.</summary>
    private sealed class FoldsBatch : Module
    {
        public override Tensor Forward(Tensor input) => F.Relu(F.Transpose(input, 0, 1).Reshape(3, -1));
    }
}
