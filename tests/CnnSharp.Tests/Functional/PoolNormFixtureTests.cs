using CnnSharp.Functional;
using CnnSharp.Kernels;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Functional;

/// <summary>
/// Pooling, batch norm, activations, softmax and flatten against PyTorch 1.13 (float64 references computed from the same
/// float32 inputs): forward, the gradients for the stored upstream gradient, max-pool indices and batch-norm running stats.
/// </summary>
public sealed class PoolNormFixtureTests
{
    private static readonly string[] s_prefixes =
        ["max_pool2d_", "avg_pool2d_", "lp_pool2d_", "adaptive_avg_pool2d_", "adaptive_max_pool2d_", "batch_norm_", "relu_", "softmax_", "log_softmax_", "flatten_"];

    public static TheoryData<string> Names
    {
        get
        {
            var data = new TheoryData<string>();
            foreach (var name in Fixture.AllNames().Where(n => s_prefixes.Any(p => n.StartsWith(p, StringComparison.Ordinal)))) data.Add(name);
            return data;
        }
    }

    public static TheoryData<string> MaxPoolNames
    {
        get
        {
            var data = new TheoryData<string>();
            foreach (var name in Fixture.AllNames().Where(n => n.StartsWith("max_pool2d_", StringComparison.Ordinal) || n.StartsWith("adaptive_max_pool2d_", StringComparison.Ordinal)))
                data.Add(name);
            return data;
        }
    }

    private static (int, int) Pair(Fixture f, string name)
    {
        var v = f.Ints(name);
        return (v[0], v[1]);
    }

    [Fact]
    public void Every_family_has_fixtures() =>
        Assert.All(s_prefixes, p => Assert.Contains(Fixture.AllNames(), n => n.StartsWith(p, StringComparison.Ordinal)));

    [Theory, MemberData(nameof(Names))]
    public void Forward_and_backward_match_pytorch(string name)
    {
        var f = Fixture.Load(name);
        var inputs = f.Inputs.ToDictionary(e => e.Key, e => e.Value.ToTensor());
        foreach (var g in f.Grads.Keys) inputs[g].RequiresGrad = true;
        var x = inputs["input"];

        Tensor y = name switch
        {
            _ when name.StartsWith("max_pool2d_", StringComparison.Ordinal) =>
                F.MaxPool2d(x, Pair(f, "kernel_size"), Pair(f, "stride"), Pair(f, "padding"), Pair(f, "dilation"), f.Bool("ceil_mode")),
            _ when name.StartsWith("avg_pool2d_", StringComparison.Ordinal) =>
                F.AvgPool2d(x, Pair(f, "kernel_size"), Pair(f, "stride"), Pair(f, "padding"), f.Bool("ceil_mode"), f.Bool("count_include_pad")),
            _ when name.StartsWith("lp_pool2d_", StringComparison.Ordinal) =>
                F.LpPool2d(x, f.Double("norm_type"), Pair(f, "kernel_size"), Pair(f, "stride"), f.Bool("ceil_mode")),
            _ when name.StartsWith("adaptive_avg_pool2d_", StringComparison.Ordinal) => F.AdaptiveAvgPool2d(x, Pair(f, "output_size")),
            _ when name.StartsWith("adaptive_max_pool2d_", StringComparison.Ordinal) => F.AdaptiveMaxPool2d(x, Pair(f, "output_size")),
            _ when name.StartsWith("batch_norm_", StringComparison.Ordinal) =>
                F.BatchNorm(x, inputs["running_mean"], inputs["running_var"], inputs["weight"], inputs["bias"],
                    f.Bool("training"), (float)f.Double("momentum"), (float)f.Double("eps")),
            _ when name.StartsWith("relu_", StringComparison.Ordinal) => F.Relu(x),
            _ when name.StartsWith("softmax_", StringComparison.Ordinal) => F.Softmax(x, f.Int("dim")),
            _ when name.StartsWith("log_softmax_", StringComparison.Ordinal) => F.LogSoftmax(x, f.Int("dim")),
            _ => F.Flatten(x, f.Int("start_dim"), f.Int("end_dim")),
        };

        var expected = f.Output();
        TensorAssert.ShapeIs(y, expected.Shape);
        TensorAssert.Close(expected.Data, y, Tolerance.Accumulated, $"{name} output");

        y.Backward(f.GradOutput().ToTensor());
        foreach (var (input, grad) in f.Grads)
            TensorAssert.Close(grad.Data, inputs[input].Grad!, Tolerance.Gradient, $"{name} gradient of {input}");

        foreach (var stat in new[] { "running_mean", "running_var" })
            if (f.Outputs.TryGetValue(stat, out var after)) TensorAssert.Close(after.Data, inputs[stat], Tolerance.Float32, $"{name} {stat}");
    }

    [Theory, MemberData(nameof(MaxPoolNames))]
    public void Max_pool_indices_match_pytorch(string name)
    {
        var f = Fixture.Load(name);
        var indices = f.Output("indices");
        var x = f.Input("input");
        var argmax = new int[indices.Data.Length];
        var y = new float[argmax.Length];
        if (name.StartsWith("adaptive_", StringComparison.Ordinal))
        {
            var g = AdaptivePool2dGeometry.Create(x.Shape, Pair(f, "output_size"), "test");
            AdaptivePool2dKernels.MaxForward(x.ToFloatArray(), y, argmax, g);
        }
        else
        {
            var g = Pool2dGeometry.Create(x.Shape, Pair(f, "kernel_size"), Pair(f, "stride"), Pair(f, "padding"), Pair(f, "dilation"), f.Bool("ceil_mode"), "test");
            Pool2dKernels.MaxForward(x.ToFloatArray(), y, argmax, g);
        }
        Assert.Equal(indices.ToInt64Array(), argmax.Select(i => (long)i).ToArray());
    }
}
