using CnnSharp.Autograd;
using CnnSharp.Modules;
using CnnSharp.Onnx;
using CnnSharp.Tests.TestUtilities;
using Xunit;

namespace CnnSharp.Tests.Onnx;

/// <summary>
/// ONNX sessions on the compiled executor (<see cref="OnnxSessionOptions.CompilePlan"/>): which models take the compiled
/// plan, that they reproduce PyTorch's outputs there, that graphs it cannot express still run (on the ONNX runtime)
/// with the same results, and a property test against the ONNX runtime on random exported module stacks.
/// </summary>
public sealed class OnnxCompiledPlanTests
{
    private static readonly OnnxSessionOptions Runtime = new() { CompilePlan = false };

    /// <summary>Compiles every whole model: the direct-conv-chain preference off, islands allowed.</summary>
    private static readonly OnnxSessionOptions AlwaysCompiled = new() { FuseDirectConvolutions = false, AllowGraphBreaks = true };

    public static TheoryData<string> WholeModels()
    {
        var data = new TheoryData<string>();
        foreach (string c in ConformanceData.Cases().Where(c => c.StartsWith("pytorch-models/", StringComparison.Ordinal))) data.Add(c);
        return data;
    }

    [Theory]
    [MemberData(nameof(WholeModels))]
    public void Whole_model_runs_on_the_compiled_plan_and_reproduces_pytorch(string name)
    {
        var (session, input, expected) = Load(name, AlwaysCompiled);

        var actual = session.Run(input);

        Assert.Equal(OnnxExecutionPath.CompiledPlan, session.LastExecutionPath);
        Assert.Null(session.FallbackReason);
        Assert.Equal(expected.Shape, actual.Shape);
        TensorAssert.Close(expected.ToArray(), actual.ToArray(), new Tolerance(1e-3, 1e-5));
    }

    [Theory]
    [InlineData("resnet18_narrow")]
    [InlineData("lenet5")]
    public void Default_options_compile_models_without_islands_or_direct_chains(string model)
    {
        var (session, input, expected) = Load("pytorch-models/" + model, null);

        var actual = session.Run(input);

        Assert.True(session.LastExecutionPath == OnnxExecutionPath.CompiledPlan, session.FallbackReason);
        Assert.Empty(session.GraphBreaks);
        TensorAssert.Close(expected.ToArray(), actual.ToArray(), new Tolerance(1e-3, 1e-5));
    }

    [Fact]
    public void Resnet_plan_folds_batch_norm_and_fuses_the_residual_add_and_relu_into_the_convolutions()
    {
        var (session, input, _) = Load("pytorch-models/resnet18_narrow", null);

        string plan = session.Describe(input.Shape.ToArray());

        // PyTorch's exporter already folded batch norm into the convolutions.
        Assert.DoesNotContain("BatchNorm", plan);
        // The residual Add + ReLU runs in the epilogue of the conv chain (or GEMM convolution) computing the main branch.
        Assert.Contains("+Add+ReLU", plan);
        Assert.DoesNotContain(plan.Split('\n'), l => l.StartsWith("Add", StringComparison.Ordinal));
        Assert.Contains("Linear", plan);
        Assert.DoesNotContain("graph break", plan);
    }

    [Fact]
    public void Exported_conv_batch_norm_relu_folds_into_one_convolution_with_the_runtime_result()
    {
        var g = new Generator(8);
        var model = new Sequential(new Conv2d(3, 16, 3, padding: 1, generator: g), new BatchNorm2d(16), new ReLU(),
            new Conv2d(16, 16, 3, stride: 2, generator: g), new BatchNorm2d(16), new ReLU(), new Flatten(), new Linear(16 * 8 * 8, 5, generator: g));
        foreach (var (name, buffer) in model.NamedBuffers())
            if (name.EndsWith("running_mean", StringComparison.Ordinal)) Tensor.Randn(g, buffer.Shape.ToArray()).Data.CopyTo(buffer.Data);
        model.Eval();
        var onnx = OnnxModel.Parse(OnnxExporter.ExportToBytes(model, [2, 3, 18, 18]));
        var session = new OnnxSession(onnx);
        var x = Tensor.Randn(new Generator(9), 2, 3, 18, 18);

        var y = session.Run(x).ToArray();

        Assert.Equal(OnnxExecutionPath.CompiledPlan, session.LastExecutionPath);
        string plan = session.Describe(2, 3, 18, 18);
        // The stem folds into the GEMM conv; the stride-2 conv (8x8 output: above PlanBuilder.MaxStridedGemmPixels) starts a
        // conv chain whose epilogue applies the running-stats batch norm (PlanBuilder.StridedInferenceChains); no batch norm
        // is left as an op of its own.
        Assert.Single(plan.Split('\n'), l => l.Contains("+BatchNorm(folded)+ReLU", StringComparison.Ordinal));
        Assert.Contains("ConvChain[Conv2d direct 16->16 3x3 stride 2+BatchNorm(running stats)+ReLU]", plan, StringComparison.Ordinal);
        Assert.DoesNotContain(plan.Split('\n'), l => l.StartsWith("BatchNorm", StringComparison.Ordinal));
        TensorAssert.Close(new OnnxSession(onnx, Runtime).Run(x).ToArray(), y, Tolerance.Accumulated);
        using (GradMode.NoGrad()) TensorAssert.Close(model.Forward(x).ToArray(), y, Tolerance.Accumulated);
    }

    [Fact]
    public void Zero_pad_folds_into_the_conv_and_matmul_add_and_gemm_become_linear_ops()
    {
        var rng = new Generator(10);
        float[] Random(int n) => Tensor.Randn(rng, n).ToArray();
        var graph = new OnnxTestGraph()
            .Input("x", 2, 3, 6, 6)
            .Initializer("pads", new long[] { 0, 0, 1, 2, 0, 0, 1, 0 }, 8)
            .Initializer("w", Random(16 * 3 * 9), 16, 3, 3, 3).Initializer("b", Random(16), 16)
            .Initializer("m", Random(16 * 6 * 6 * 4), 16 * 6 * 6, 4).Initializer("mb", Random(4), 4)
            .Initializer("g", Random(4 * 3), 4, 3).Initializer("gb", Random(3), 1, 3)
            .Node("Pad", "pad", ["x", "pads"], ["p"])
            .Node("Conv", "conv", ["p", "w", "b"], ["c"], ("kernel_shape", new long[] { 3, 3 }))
            .Node("Relu", "relu", ["c"], ["r"])
            .Node("Flatten", "flat", ["r"], ["f"])
            .Node("MatMul", "mm", ["f", "m"], ["h"])
            .Node("Add", "bias", ["h", "mb"], ["hb"])
            .Node("Gemm", "gemm", ["hb", "g", "gb"], ["y"])
            .Output("y", 2, 3);
        var x = Tensor.Randn(new Generator(11), 2, 3, 6, 6);
        var compiled = graph.Session();

        var y = compiled.Run(x).ToArray();

        Assert.Equal(OnnxExecutionPath.CompiledPlan, compiled.LastExecutionPath);
        Assert.Empty(compiled.GraphBreaks);
        string[] plan = compiled.Describe(2, 3, 6, 6).Split('\n');
        Assert.Equal(["Conv2d+ReLU", "Linear(576->4)", "Linear(4->3)"], plan.Select(l => l[..l.IndexOf(" ->", StringComparison.Ordinal)]));
        TensorAssert.Close(graph.Session(Runtime).Run(x).ToArray(), y, Tolerance.Accumulated);
    }

    [Fact]
    public void Zero_pad_before_a_max_pool_stays_an_island_because_zeros_are_not_minus_infinity()
    {
        var graph = new OnnxTestGraph()
            .Input("x", 1, 2, 4, 4)
            .Initializer("pads", new long[] { 0, 0, 1, 1, 0, 0, 1, 1 }, 8)
            .Node("Pad", "pad", ["x", "pads"], ["p"])
            .Node("MaxPool", "pool", ["p"], ["y"], ("kernel_shape", new long[] { 2, 2 }), ("strides", new long[] { 2, 2 }))
            .Output("y", 1, 2, 3, 3);
        var x = Tensor.Full(-1f, 1, 2, 4, 4);
        var session = graph.Session(new OnnxSessionOptions { AllowGraphBreaks = true });

        var y = session.Run(x).ToArray();

        Assert.Equal(OnnxExecutionPath.CompiledPlan, session.LastExecutionPath);
        Assert.Contains(session.GraphBreaks, b => b.Contains("Pad", StringComparison.Ordinal));
        Assert.Equal(graph.Session(Runtime).Run(x).ToArray(), y);
        Assert.Equal(0f, y[0]); // a corner window holds padded zeros and -1s
    }

    [Fact]
    public void Seed_convnet_keeps_the_runtime_direct_chains_by_default_with_the_reason()
    {
        var (session, input, expected) = Load("pytorch-models/seed_convnet", null);

        var actual = session.Run(input);

        Assert.Equal(OnnxExecutionPath.Runtime, session.LastExecutionPath);
        Assert.Contains("DirectConvChainOp", session.FallbackReason);
        TensorAssert.Close(expected.ToArray(), actual.ToArray(), new Tolerance(1e-3, 1e-5));
    }

    [Fact]
    public void Island_node_runs_inside_the_plan_when_allowed_and_on_the_runtime_otherwise_with_equal_results()
    {
        var g = new Generator(3);
        var model = new Sequential(new Conv2d(3, 8, 3, padding: 1, generator: g), new LeakyReLU(0.1f), new Conv2d(8, 4, 3, generator: g));
        model.Eval();
        var onnx = OnnxModel.Parse(OnnxExporter.ExportToBytes(model, [2, 3, 9, 9]));
        var x = Tensor.Randn(new Generator(4), 2, 3, 9, 9);
        var reference = new OnnxSession(onnx, Runtime).Run(x).ToArray();

        var fallback = new OnnxSession(onnx);
        var islands = new OnnxSession(onnx, new OnnxSessionOptions { AllowGraphBreaks = true });
        var viaRuntime = fallback.Run(x).ToArray();
        var viaPlan = islands.Run(x).ToArray();

        Assert.Equal(OnnxExecutionPath.Runtime, fallback.LastExecutionPath);
        Assert.Contains("LeakyRelu", fallback.FallbackReason);
        Assert.Equal(OnnxExecutionPath.CompiledPlan, islands.LastExecutionPath);
        Assert.Contains(islands.GraphBreaks, b => b.Contains("LeakyRelu", StringComparison.Ordinal));
        Assert.Equal(reference, viaRuntime);
        TensorAssert.Close(reference, viaPlan, Tolerance.Accumulated);
    }

    [Fact]
    public void Graph_the_plan_cannot_express_runs_on_the_runtime_with_the_same_results()
    {
        // Two runtime inputs: a plan reads one.
        var graph = new OnnxTestGraph().Input("a", 1, 2, 3, 3).Input("b", 1, 2, 3, 3)
            .Node("Add", "add", ["a", "b"], ["s"]).Node("Relu", "relu", ["s"], ["y"]).Output("y", 1, 2, 3, 3);
        var session = graph.Session();
        var a = Tensor.Randn(new Generator(5), 1, 2, 3, 3);
        var b = Tensor.Randn(new Generator(6), 1, 2, 3, 3);

        var y = session.Run(new Dictionary<string, Tensor> { ["a"] = a, ["b"] = b })["y"];

        Assert.Equal(OnnxExecutionPath.Runtime, session.LastExecutionPath);
        Assert.Contains("2 runtime inputs", session.FallbackReason);
        Assert.Equal(a.ToArray().Zip(b.ToArray(), (p, q) => Math.Max(p + q, 0f)).ToArray(), y.ToArray());
    }

    [Fact]
    public void Overriding_an_initializer_runs_the_runtime_and_uses_the_override()
    {
        // An initializer listed as a graph input is an overridable default; the plan holds the default as a constant.
        var graph = new OnnxTestGraph().Input("x", 1, 1, 3, 3).Input("w", 1, 1, 1, 1).Initializer("w", [2f], 1, 1, 1, 1)
            .Node("Conv", "conv", ["x", "w"], ["y"]).Output("y", 1, 1, 3, 3);
        var session = graph.Session();
        var x = Tensor.Randn(new Generator(7), 1, 1, 3, 3);

        var doubled = session.Run(x).ToArray();
        Assert.Equal(OnnxExecutionPath.CompiledPlan, session.LastExecutionPath);
        var tripled = session.Run(new Dictionary<string, Tensor> { ["x"] = x, ["w"] = Tensor.Full(3f, 1, 1, 1, 1) })["y"].ToArray();

        Assert.Equal(OnnxExecutionPath.Runtime, session.LastExecutionPath);
        Assert.Contains("overrides an initializer", session.FallbackReason);
        TensorAssert.Close(x.ToArray().Select(v => 2 * v).ToArray(), doubled, Tolerance.Accumulated);
        TensorAssert.Close(x.ToArray().Select(v => 3 * v).ToArray(), tripled, Tolerance.Accumulated);
    }

    [Fact]
    public void Value_above_the_element_limit_is_not_planned_and_the_runtime_refuses_it_by_name()
    {
        var graph = new OnnxTestGraph().Input("x", 1, 1, 8, 8).Initializer("w", new float[64], 64, 1, 1, 1)
            .Node("Conv", "wide", ["x", "w"], ["y"]).Output("y", 1, 64, 8, 8);
        var session = graph.Session(new OnnxSessionOptions { MaxTensorElements = 1000 });

        var e = Assert.Throws<ShapeException>(() => session.Run(Tensor.Zeros(1, 1, 8, 8)));

        Assert.Equal(OnnxExecutionPath.Runtime, session.LastExecutionPath);
        Assert.Contains("MaxTensorElements", session.FallbackReason);
        Assert.Contains("node 'wide'", e.Message);
    }

    public static TheoryData<int> Seeds => [.. Enumerable.Range(1, 8)];

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Random_exported_stack_gives_the_runtime_result_on_the_compiled_plan_at_two_batch_sizes(int seed)
    {
        var model = Stack(seed, out int[] shape);
        model.Eval();
        var onnx = OnnxModel.Parse(OnnxExporter.ExportToBytes(model, shape));
        var runtime = new OnnxSession(onnx, Runtime);
        var compiled = new OnnxSession(onnx, AlwaysCompiled);

        foreach (int batch in new[] { shape[0], shape[0] + 1, shape[0] })
        {
            int[] s = [batch, .. shape[1..]];
            var x = Tensor.Randn(new Generator((ulong)(seed * 10 + batch)), s);
            var expected = runtime.Run(x).ToArray();
            var actual = compiled.Run(x).ToArray();

            Assert.True(compiled.LastExecutionPath == OnnxExecutionPath.CompiledPlan, compiled.FallbackReason);
            TensorAssert.Close(expected, actual, Tolerance.Accumulated);
        }
    }

    /// <summary><see cref="Compile.RandomStackTests"/>'s random CNN with random batch-norm statistics.</summary>
    private static Module Stack(int seed, out int[] inputShape)
    {
        var model = Compile.RandomStackTests.Stack(seed, out inputShape);
        var g = new Generator((ulong)seed + 100);
        // Non-trivial running statistics, so folding batch norm into the convolutions is exercised.
        foreach (var (name, buffer) in model.NamedBuffers())
        {
            if (name.EndsWith("running_mean", StringComparison.Ordinal)) Tensor.Randn(g, buffer.Shape.ToArray()).Data.CopyTo(buffer.Data);
            if (name.EndsWith("running_var", StringComparison.Ordinal))
                System.Numerics.Tensors.TensorPrimitives.Add(Tensor.Rand(g, buffer.Shape.ToArray()).Data, 0.5f, buffer.Data);
        }
        return model;
    }

    private static (OnnxSession Session, Tensor Input, Tensor Expected) Load(string name, OnnxSessionOptions? options)
    {
        string folder = ConformanceData.PathOf(name.Split('/'));
        var session = new OnnxSession(OnnxModel.Load(Path.Combine(folder, "model.onnx")), options);
        var input = OnnxTensors.Read(Path.Combine(folder, "test_data_set_0", "input_0.pb"));
        var output = OnnxTensors.Read(Path.Combine(folder, "test_data_set_0", "output_0.pb"));
        return (session, new Tensor(input.ToFloatArray(), input.Shape), new Tensor(output.ToFloatArray(), output.Shape));
    }
}
