using CnnSharp.Functional;
using CnnSharp.Models;
using CnnSharp.Modules;
using CnnSharp.Onnx;
using CnnSharp.Tests.TestUtilities;
using CnnSharp.IO;

namespace CnnSharp.Tests.Onnx;

public sealed class OnnxExporterTests
{
    /// <summary>
    /// ONNX Runtime vs CnnSharp on the same float32 weights: both sum the same products in different orders (and ORT
    /// folds batch norm into the convolution), so they agree to float32 accumulation error.
    /// </summary>
    private static readonly Tolerance Runtime = new(1e-4, 1e-5);

    /// <summary>Each case: a model and the per-sample input shape (exported at batch 1, run at batch 3).</summary>
    private static readonly Dictionary<string, Func<(Module Model, int[] Sample)>> s_cases = new()
    {
        ["conv_geometry"] = () => (new Sequential(
            new Conv2d(3, 6, (3, 2), stride: (2, 1), padding: (1, 0), generator: G(1)),
            new Conv2d(6, 6, 3, padding: 2, dilation: 2, groups: 3, generator: G(2)),
            new Conv2d(6, 4, 1, bias: false, generator: G(3)),
            new BatchNorm2d(4), new ReLU()), [3, 9, 8]),
        ["max_pools"] = () => (new Sequential(
            new MaxPool2d(3, stride: 2, padding: 1, ceilMode: true),
            new MaxPool2d((2, 3), stride: (1, 2), dilation: (2, 1)),
            new MaxPool2d(2, ceilMode: true)), [2, 11, 12]),
        ["avg_pools"] = () => (new Sequential(
            new AvgPool2d(3, stride: 2, padding: 1, ceilMode: true, countIncludePad: true),
            new AvgPool2d(2, ceilMode: true, countIncludePad: false),
            new AvgPool2d((3, 2), stride: (1, 1), padding: (1, 0), divisorOverride: 5)), [2, 12, 11]),
        ["avg_pool_ceil_exclude_pad"] = () => (new Sequential(
            new AvgPool2d(3, stride: 2, padding: 1, ceilMode: true, countIncludePad: false),
            new AvgPool2d(2, stride: 2, ceilMode: true, divisorOverride: 3)), [2, 8, 7]),
        ["lp_pools"] = () => (new Sequential(
            new LPPool2d(2, 2, ceilMode: true),
            new LPPool2d(3, (2, 3), stride: (1, 2)),
            new LPPool2d(1.5, 2)), [2, 9, 13]),
        ["adaptive_uneven"] = () => (new Sequential(
            new AdaptiveAvgPool2d((5, 4)),
            new AdaptiveMaxPool2d((3, 3))), [2, 7, 9]),
        ["adaptive_even_and_global"] = () => (new Sequential(
            new Sequential(new AdaptiveMaxPool2d((4, 4)), new AdaptiveAvgPool2d(2)),
            new Conv2d(2, 3, 1, generator: G(4)),
            new AdaptiveAvgPool2d(1)), [2, 8, 8]),
        ["global_max_head"] = () => (new Sequential(
            new Conv2d(1, 5, 3, generator: G(5)), new AdaptiveMaxPool2d(1), new Flatten(),
            new Linear(5, 4, generator: G(6)), new LogSoftmax(1)), [1, 6, 6]),
        ["activations_and_head"] = () => (new Sequential(
            new Conv2d(2, 4, 3, padding: 1, generator: G(7)), new BatchNorm2d(4), new Tanh(), new Dropout(0.5f),
            new LeakyReLU(0.2f), new Identity(), new Flatten(),
            new Linear(4 * 5 * 5, 8, generator: G(8)), new BatchNorm1d(8), new Sigmoid(),
            new Linear(8, 3, bias: false, generator: G(9)), new Softmax(1)), [2, 5, 5]),
        ["conv1d"] = () => (new Sequential(
            new Conv1d(4, 6, 3, stride: 2, padding: 1, dilation: 2, groups: 2, generator: G(10)),
            new BatchNorm1d(6), new ReLU(), new Flatten(), new Linear(6 * 5, 2, generator: G(11))), [4, 11]),
        ["flatten_ranges_and_linear_on_3d"] = () => (new Sequential(
            new Flatten(1, 2),
            new Linear(5, 3, generator: G(12)),
            new Flatten(2, 2),
            new Softmax(-1)), [2, 4, 5]),
        ["nested"] = () => (new Sequential(
            new Sequential(new Sequential(new Conv2d(1, 2, 3, generator: G(13)), new BatchNorm2d(2)), new ReLU()),
            new Sequential(new MaxPool2d(2), new Sequential(new Flatten(), new Linear(2 * 3 * 3, 2, generator: G(14))))), [1, 8, 8]),
    };

    public static TheoryData<string> Cases => [.. s_cases.Keys];

    private static Generator G(int seed) => new((ulong)seed);

    [Theory]
    [MemberData(nameof(Cases))]
    public void Exported_stack_runs_in_onnx_runtime_with_the_same_outputs_at_another_batch_size(string name)
    {
        var (model, sample) = s_cases[name]();
        RandomizeBatchNorm(model, seed: 99);
        byte[] onnx = OnnxExporter.ExportToBytes(model, [1, .. sample]);

        var input = Tensor.Uniform(new Generator(7), new Shape([3, .. sample]), -1f, 1f);
        model.Eval();
        var expected = model.Forward(input);
        var actual = OnnxRuntimeRunner.Run(onnx, input);
        Assert.Equal(expected.Shape, actual.Shape);
        TensorAssert.Close(expected.Data, actual.Data, Runtime, name);
    }

    [Fact]
    public void ConvNet_exports_with_flatten_and_runs_in_onnx_runtime()
    {
        var model = new ConvNet(generator: new Generator(21));
        RandomizeBatchNorm(model, seed: 5);
        var onnx = OnnxModel.Parse(OnnxExporter.ExportToBytes(model, [1, 1, 28, 28]));
        Assert.Equal(["Conv", "BatchNormalization", "Relu", "MaxPool", "Conv", "BatchNormalization", "Relu", "MaxPool", "Flatten", "Gemm"],
            onnx.Graph.Nodes.Select(n => n.OpType));
        Assert.Equal(1, onnx.Graph.Nodes.Single(n => n.OpType == "Flatten").FindAttribute("axis")!.Int);
        // Initializers carry the state-dict keys (the batch counters are not needed in eval form).
        Assert.Equal(model.StateDict().Select(e => e.Key).Where(k => !k.EndsWith("num_batches_tracked", StringComparison.Ordinal)).Order(StringComparer.Ordinal),
            onnx.Graph.Initializers.Select(t => t.Name).Order(StringComparer.Ordinal));
        Assert.Equal(13, onnx.Opset);

        var input = Tensor.Uniform(new Generator(8), new Shape(5, 1, 28, 28), 0f, 1f);
        model.Eval();
        TensorAssert.Close(model.Forward(input).Data, OnnxRuntimeRunner.Run(OnnxExporter.ExportToBytes(model, [1, 1, 28, 28]), input).Data, Runtime, "ConvNet");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Exported_stack_reimports_into_cnnsharps_own_onnx_session_with_the_same_outputs(string name)
    {
        var (model, sample) = s_cases[name]();
        RandomizeBatchNorm(model, seed: 98);
        var session = new OnnxSession(OnnxModel.Parse(OnnxExporter.ExportToBytes(model, [1, .. sample]), name));
        var input = Tensor.Uniform(new Generator(9), new Shape([2, .. sample]), -1f, 1f);
        model.Eval();
        var expected = model.Forward(input);
        var actual = session.Run(input);
        Assert.Equal(expected.Shape, actual.Shape);
        TensorAssert.Close(expected.Data, actual.Data, Runtime, name);
    }

    [Fact]
    public void Custom_module_with_its_own_forward_exports_and_runs_in_onnx_runtime()
    {
        var model = new SeedConvNet(new Generator(22));
        RandomizeBatchNorm(model, seed: 6);
        var input = Tensor.Uniform(new Generator(10), new Shape(2, 1, 28, 28), 0f, 1f);
        model.Eval();
        TensorAssert.Close(model.Forward(input).Data, OnnxRuntimeRunner.Run(OnnxExporter.ExportToBytes(model, [1, 1, 28, 28]), input).Data, Runtime, "SeedConvNet");
    }

    [Fact]
    public void Pytorch_weights_exported_from_cnnsharp_reproduce_pytorch_logits_in_onnx_runtime()
    {
        foreach (var (name, model) in new (string, Module)[] { ("seed_convnet", new ConvNet()), ("lenet5", LeNet5.Create()) })
        {
            model.LoadSafetensors(ConformanceModels.StateDict(name));
            var input = ConformanceModels.Input(name);
            using var dir = new TempDirectory();
            string path = dir.File(name + ".onnx");
            OnnxExporter.Export(model, [1, .. input.Shape.Dims[1..].ToArray()], path);
            var actual = OnnxRuntimeRunner.Run(File.ReadAllBytes(path), input);
            TensorAssert.Close(ConformanceModels.Output(name).Data, actual.Data, new Tolerance(1e-4, 1e-5), name);
            var reimported = OnnxSession.Load(path).Run(input);
            TensorAssert.Close(ConformanceModels.Output(name).Data, reimported.Data, new Tolerance(1e-4, 1e-5), name + " (OnnxSession)");
        }
    }

    [Fact]
    public void Input_has_a_symbolic_batch_and_output_keeps_it()
    {
        var model = new Sequential(new Conv2d(1, 2, 3, generator: G(1)), new Flatten());
        byte[] bytes = OnnxExporter.ExportToBytes(model, [4, 1, 5, 5], opset: 17);
        var onnx = OnnxModel.Parse(bytes);
        Assert.Equal(17, onnx.Opset);
        var input = Assert.Single(onnx.Graph.Inputs);
        Assert.Equal("input", input.Name);
        Assert.Equal("batch", input.Shape![0].Param);
        Assert.Equal([1L, 5, 5], input.Shape!.Skip(1).Select(d => d.Value!.Value));
        var output = Assert.Single(onnx.Graph.Outputs);
        Assert.Equal("output", output.Name);
        Assert.Equal("batch", output.Shape![0].Param);
        Assert.Equal(18L, output.Shape![1].Value);
        var x = Tensor.Uniform(G(2), new Shape(2, 1, 5, 5));
        TensorAssert.Close(model.Forward(x).Data, OnnxRuntimeRunner.Run(bytes, x).Data, Runtime);
    }

    [Fact]
    public void Unsupported_leaf_module_is_named_by_path_and_type()
    {
        var model = new Sequential(new ReLU(), new Sequential(new Identity(), new Unsupported()));
        var e = Assert.Throws<OnnxExportException>(() => OnnxExporter.ExportToBytes(model, [1, 3]));
        Assert.Equal("1.1", e.ModulePath);
        Assert.Equal(nameof(Unsupported), e.ModuleType);
        Assert.Contains("'1.1' (Unsupported)", e.Message);
        Assert.Contains("no ONNX mapping", e.Message);
    }

    [Fact]
    public void Composite_module_with_its_own_forward_is_traced()
    {
        // Once refused ("a module with its own Forward cannot be traced"); the traced exporter follows the forward.
        var model = new Sequential(new Composite());
        byte[] bytes = OnnxExporter.ExportToBytes(model, [1, 3]);
        var x = Tensor.Uniform(G(3), new Shape(4, 3), -1f, 1f);
        TensorAssert.Close(model.Forward(x).Data, OnnxRuntimeRunner.Run(bytes, x).Data, Runtime);
        Assert.Contains(OnnxModel.Parse(bytes).Graph.Nodes, n => n.Name == "/0/inner/Relu");
    }

    [Fact]
    public void Batch_norm_without_running_statistics_is_refused()
    {
        var model = new Sequential(new Conv2d(1, 2, 1, generator: G(1)), new BatchNorm2d(2, trackRunningStats: false));
        var e = Assert.Throws<OnnxExportException>(() => OnnxExporter.ExportToBytes(model, [1, 1, 3, 3]));
        Assert.Equal("1", e.ModulePath);
        Assert.Contains("running statistics", e.Message);
    }

    [Fact]
    public void Failed_export_leaves_the_previous_file_and_no_temporary_file()
    {
        using var dir = new TempDirectory();
        string path = dir.File("model.onnx");
        File.WriteAllBytes(path, [1, 2, 3]);
        Assert.Throws<OnnxExportException>(() => OnnxExporter.Export(new Sequential(new Unsupported()), [1, 3], path));
        Assert.Equal([1, 2, 3], File.ReadAllBytes(path));
        Assert.Single(Directory.GetFiles(dir.Path));
        OnnxExporter.Export(new Sequential(new ReLU()), [1, 3], path);
        Assert.Equal("Relu", OnnxModel.Load(path).Graph.Nodes[0].OpType);
    }

    [Fact]
    public void Export_runs_in_eval_form_and_restores_each_modules_mode()
    {
        var bn = new BatchNorm2d(2);
        var dropout = new Dropout(0.5f);
        var model = new Sequential(new Conv2d(1, 2, 1, generator: G(1)), bn, dropout);
        model.Train();
        dropout.Eval();
        OnnxExporter.ExportToBytes(model, [2, 1, 3, 3]);
        Assert.True(model.Training);
        Assert.True(bn.Training);
        Assert.False(dropout.Training);
        Assert.Equal(0f, bn.NumBatchesTracked!.Data[0]); // no training step happened during the export
        Assert.Equal(new float[2], bn.RunningMean!.ToArray());
    }

    [Theory]
    [InlineData(12)]
    [InlineData(18)]
    public void Opset_outside_13_to_17_is_refused(int opset) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => OnnxExporter.ExportToBytes(new Sequential(new ReLU()), [1, 3], opset));

    [Fact]
    public void Input_shape_the_model_rejects_names_the_module()
    {
        var model = new Sequential(new ReLU(), new Conv2d(3, 2, 3, generator: G(1)));
        var e = Assert.Throws<ShapeException>(() => OnnxExporter.ExportToBytes(model, [1, 2, 5, 5]));
        Assert.Contains("module '1' (Conv2d)", e.Message);
    }

    [Fact]
    public void Unbatched_conv_input_is_refused()
    {
        // MaxPool2d itself accepts an unbatched (C, H, W) input, but the export's first dimension is always the batch.
        var e = Assert.Throws<OnnxExportException>(() => OnnxExporter.ExportToBytes(new MaxPool2d(2), [1, 4, 4]));
        Assert.Contains("batched (N, C, H, W)", e.Message);
    }

    /// <summary>Gives every batch norm random running statistics and affine parameters (a trained-looking state).</summary>
    internal static void RandomizeBatchNorm(Module model, int seed)
    {
        var g = new Generator((ulong)seed);
        foreach (var (_, m) in model.NamedModules())
        {
            if (m is not BatchNormBase bn) continue;
            Tensor.Uniform(g, bn.RunningMean!.Shape, -0.5f, 0.5f).Data.CopyTo(bn.RunningMean.Data);
            Tensor.Uniform(g, bn.RunningVar!.Shape, 0.5f, 2f).Data.CopyTo(bn.RunningVar.Data);
            Tensor.Uniform(g, bn.Weight!.Shape, 0.5f, 1.5f).Data.CopyTo(bn.Weight.Data);
            Tensor.Uniform(g, bn.Bias!.Shape, -0.5f, 0.5f).Data.CopyTo(bn.Bias.Data);
        }
    }

    /// <summary>A loss inside a forward: an op the exporter has no ONNX form for.</summary>
    private sealed class Unsupported : Module
    {
        public override Tensor Forward(Tensor input) => F.MseLoss(input, Tensor.Zeros(input.Shape));
    }

    private sealed class Composite : Module
    {
        private readonly ReLU _inner;

        public Composite() => _inner = RegisterModule("inner", new ReLU());

        public override Tensor Forward(Tensor input) => F.Add(input, _inner.Call(input));
    }
}
