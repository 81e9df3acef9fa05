using CnnSharp.Models;
using CnnSharp.Onnx;
using CnnSharp.Tests.TestUtilities;
using Xunit;

namespace CnnSharp.Tests.Onnx;

/// <summary>
/// Clip, Concat, Slice, Transpose and ReduceMean over (H, W) on the compiled plan (MobileNet-v2's ReLU6, ShuffleNet-v2's
/// channel split, concat and shuffle, and its head): the default options compile such graphs without islands and give the
/// ONNX runtime's results.
/// </summary>
public sealed class OnnxDataMovementPlanTests
{
    private static readonly OnnxSessionOptions Runtime = new() { CompilePlan = false };

    /// <summary>One ShuffleNet-v2 unit: split the channels in halves, a 1x1 conv + Clip on the second, concat, shuffle,
    /// then a mean over (H, W).</summary>
    private static OnnxTestGraph ShuffleUnit()
    {
        var rng = new Generator(21);
        return new OnnxTestGraph()
            .Input("x", 2, 8, 5, 5)
            .Initializer("lo", [0L], 1).Initializer("mid", [4L], 1).Initializer("hi", [8L], 1).Initializer("axis1", [1L], 1)
            .Initializer("w", Tensor.Randn(rng, 4 * 4).ToArray(), 4, 4, 1, 1).Initializer("b", Tensor.Randn(rng, 4).ToArray(), 4)
            .Initializer("zero", [0f]).Initializer("six", [6f])
            .Initializer("grouped", [2L, 2, 4, 5, 5], 5).Initializer("flat", [2L, 8, 5, 5], 4)
            .Node("Slice", "first", ["x", "lo", "mid", "axis1"], ["x1"])
            .Node("Slice", "second", ["x", "mid", "hi", "axis1"], ["x2"])
            .Node("Conv", "conv", ["x2", "w", "b"], ["c"], ("kernel_shape", new long[] { 1, 1 }))
            .Node("Clip", "relu6", ["c", "zero", "six"], ["r"])
            .Node("Concat", "cat", ["x1", "r"], ["cat"], ("axis", 1L))
            .Node("Reshape", "view", ["cat", "grouped"], ["g"])
            .Node("Transpose", "shuffle", ["g"], ["t"], ("perm", new long[] { 0, 2, 1, 3, 4 }))
            .Node("Reshape", "back", ["t", "flat"], ["s"])
            .Node("ReduceMean", "mean", ["s"], ["y"], ("axes", new long[] { 2, 3 }), ("keepdims", 0L))
            .Output("y", 2, 8);
    }

    [Fact]
    public void Shuffle_unit_runs_as_a_compiled_plan_with_the_clip_in_the_conv_and_the_runtime_result()
    {
        var model = ShuffleUnit().Build();
        var x = Tensor.Randn(new Generator(22), 2, 8, 5, 5);
        var session = new OnnxSession(model);

        var y = session.Run(x).ToArray();

        Assert.True(session.LastExecutionPath == OnnxExecutionPath.CompiledPlan, session.FallbackReason);
        Assert.Empty(session.GraphBreaks);
        string plan = session.Describe(2, 8, 5, 5);
        Assert.Contains("Conv2d+ReLU6", plan);
        Assert.Contains("Concat(2)", plan);
        Assert.Contains("GlobalAvgPool2d", plan);
        TensorAssert.Close(new OnnxSession(model, Runtime).Run(x).ToArray(), y, Tolerance.Accumulated);
    }

    [Fact]
    public void Clip_with_bounds_known_at_load_is_a_compiled_clamp_and_clip_with_min_above_max_stays_an_island()
    {
        OnnxTestGraph Graph(float lo, float hi) => new OnnxTestGraph()
            .Input("x", 1, 3, 4, 4).Initializer("lo", [lo]).Initializer("hi", [hi])
            .Node("Clip", "clip", ["x", "lo", "hi"], ["y"]).Output("y", 1, 3, 4, 4);
        var x = Tensor.Randn(new Generator(23), 1, 3, 4, 4) * 2f;

        var clamp = Graph(-0.5f, 1f).Session();
        var y = clamp.Run(x).ToArray();
        var inverted = Graph(1f, -0.5f).Session(new OnnxSessionOptions { AllowGraphBreaks = true });
        var z = inverted.Run(x).ToArray();

        Assert.Equal(OnnxExecutionPath.CompiledPlan, clamp.LastExecutionPath);
        Assert.Empty(clamp.GraphBreaks);
        Assert.Equal(x.ToArray().Select(v => Math.Min(Math.Max(v, -0.5f), 1f)), y);
        Assert.Contains(inverted.GraphBreaks, b => b.Contains("Clip", StringComparison.Ordinal));
        Assert.All(z, v => Assert.Equal(-0.5f, v));
    }

    [Fact]
    public void Exported_mobilenet_v2_runs_as_a_compiled_plan_with_relu6_in_the_conv_epilogues()
    {
        var model = new MobileNetV2(numClasses: 7, widthMult: 0.25f, dropout: 0f, generator: new Generator(24));
        model.Eval();
        var onnx = OnnxModel.Parse(OnnxExporter.ExportToBytes(model, [2, 3, 32, 32]));
        var x = Tensor.Randn(new Generator(25), 2, 3, 32, 32);
        var session = new OnnxSession(onnx);

        var y = session.Run(x).ToArray();

        Assert.True(session.LastExecutionPath == OnnxExecutionPath.CompiledPlan, session.FallbackReason);
        Assert.Empty(session.GraphBreaks);
        var plan = session.Describe(2, 3, 32, 32).Split('\n');
        // Every ReLU6 (one per expand and depthwise conv, and the stem and head) runs in its conv's epilogue.
        Assert.DoesNotContain(plan, l => l.StartsWith("ReLU6", StringComparison.Ordinal) || l.StartsWith("Clamp", StringComparison.Ordinal));
        // (Counted per op name: an inverted-residual block fused into one op names its convs' epilogues on one line.)
        Assert.Equal(35, plan.Sum(l => l.Split("+ReLU6").Length - 1));
        TensorAssert.Close(new OnnxSession(onnx, Runtime).Run(x).ToArray(), y, new Tolerance(1e-4, 1e-5));
    }
}
