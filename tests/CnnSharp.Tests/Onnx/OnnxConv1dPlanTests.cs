using CnnSharp.Autograd;
using CnnSharp.Onnx;
using CnnSharp.Tests.TestUtilities;
using Xunit;

namespace CnnSharp.Tests.Onnx;

/// <summary>
/// 1-D convolutions and poolings on the ONNX compiled plan: ONNX's 1-D Conv (any pads, strides, dilations, groups),
/// MaxPool, AveragePool and GlobalAveragePool map to the height-1 2-D ops, as <c>F.Conv1d</c> traces; exported 1-D
/// modules (the exporter writes a 1-D Conv) and hand-built graphs give the ONNX runtime's and the eager module's results
/// with no island.
/// </summary>
public sealed class OnnxConv1dPlanTests
{
    private static readonly OnnxSessionOptions Runtime = new() { CompilePlan = false };

    [Fact]
    public void Hand_built_1d_graph_compiles_every_node_with_the_runtime_result()
    {
        var rng = new Generator(12);
        float[] Random(int n) => Tensor.Randn(rng, n).ToArray();
        var graph = new OnnxTestGraph()
            .Input("x", 3, 4, 31)
            .Initializer("w1", Random(8 * 2 * 3), 8, 2, 3).Initializer("b1", Random(8), 8)
            .Initializer("w2", Random(6 * 8 * 4), 6, 8, 4)
            .Node("Conv", "conv1", ["x", "w1", "b1"], ["c1"], ("group", 2L), ("pads", new long[] { 2, 1 }), ("dilations", new long[] { 2 }))
            .Node("Relu", "relu", ["c1"], ["r1"])
            .Node("MaxPool", "max", ["r1"], ["m"], ("kernel_shape", new long[] { 3 }), ("strides", new long[] { 2 }), ("pads", new long[] { 1, 1 }))
            .Node("Conv", "conv2", ["m", "w2"], ["c2"], ("strides", new long[] { 2 }), ("auto_pad", "SAME_UPPER"))
            .Node("AveragePool", "avg", ["c2"], ["a"], ("kernel_shape", new long[] { 2 }))
            .Node("GlobalAveragePool", "gap", ["a"], ["y"])
            .Output("y", 3, 6, 1);
        var x = Tensor.Randn(new Generator(13), 3, 4, 31);
        var compiled = graph.Session();

        var y = compiled.Run(x).ToArray();

        Assert.Equal(OnnxExecutionPath.CompiledPlan, compiled.LastExecutionPath);
        Assert.Empty(compiled.GraphBreaks);
        string plan = compiled.Describe(3, 4, 31);
        Assert.Contains("Conv2d+ReLU -> (3, 8, 30)", plan, StringComparison.Ordinal);
        Assert.DoesNotContain("Eager", plan, StringComparison.Ordinal);
        TensorAssert.Close(graph.Session(Runtime).Run(x).ToArray(), y, Tolerance.Accumulated);
    }

    public static TheoryData<int> Seeds => [.. Enumerable.Range(1, 6)];

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Exported_random_1d_stack_runs_on_the_compiled_plan_with_the_runtime_and_eager_results(int seed)
    {
        var model = Compile.Conv1dCompileTests.Stack(seed, out int[] shape);
        var g = new Generator((ulong)seed + 100);
        foreach (var (name, buffer) in model.NamedBuffers())
        {
            if (name.EndsWith("running_mean", StringComparison.Ordinal)) Tensor.Randn(g, buffer.Shape.ToArray()).Data.CopyTo(buffer.Data);
            if (name.EndsWith("running_var", StringComparison.Ordinal))
                System.Numerics.Tensors.TensorPrimitives.Add(Tensor.Rand(g, buffer.Shape.ToArray()).Data, 0.5f, buffer.Data);
        }
        model.Eval();
        var onnx = OnnxModel.Parse(OnnxExporter.ExportToBytes(model, shape));
        Assert.Contains(onnx.Graph.Nodes, n => n.OpType == "Conv");
        // An AdaptiveAvgPool1d to 2 exports as ReduceMean slices (islands, as its 2-D form); every conv and pool compiles.
        var compiled = new OnnxSession(onnx, new OnnxSessionOptions { AllowGraphBreaks = true });
        var x = Tensor.Randn(new Generator((ulong)seed * 3), shape);

        var y = compiled.Run(x).ToArray();

        Assert.True(compiled.LastExecutionPath == OnnxExecutionPath.CompiledPlan, compiled.FallbackReason);
        Assert.All(compiled.GraphBreaks, b => Assert.Contains("ReduceMean", b, StringComparison.Ordinal));
        TensorAssert.Close(new OnnxSession(onnx, Runtime).Run(x).ToArray(), y, Tolerance.Accumulated);
        using (GradMode.NoGrad()) TensorAssert.Close(model.Forward(x).ToArray(), y, Tolerance.Accumulated);
    }
}
