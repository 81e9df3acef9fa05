using CnnSharp.Functional;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Functional;

/// <summary>
/// ConvTranspose2d, Interpolate, GroupNorm and LayerNorm against PyTorch 1.13 (float64 references computed from the same
/// float32 inputs): forward and the gradients of every differentiable input for the stored upstream gradient.
/// </summary>
public sealed class ResampleNormFixtureTests
{
    private static readonly string[] s_prefixes = ["conv_transpose2d_", "interpolate_", "group_norm_", "layer_norm_"];

    public static TheoryData<string> Names
    {
        get
        {
            var data = new TheoryData<string>();
            foreach (var name in Fixture.AllNames().Where(n => s_prefixes.Any(p => n.StartsWith(p, StringComparison.Ordinal)))) data.Add(name);
            return data;
        }
    }

    [Fact]
    public void Every_family_has_fixtures() =>
        Assert.All(s_prefixes, p => Assert.True(Fixture.AllNames().Count(n => n.StartsWith(p, StringComparison.Ordinal)) >= 4, p));

    private static (int, int) Pair(Fixture f, string name)
    {
        var v = f.Ints(name);
        return (v[0], v[1]);
    }

    private static Tensor Run(string name, Fixture f, Dictionary<string, Tensor> inputs)
    {
        var x = inputs["input"];
        Tensor? Optional(string key) => inputs.TryGetValue(key, out var t) ? t : null;
        if (name.StartsWith("conv_transpose2d_", StringComparison.Ordinal))
            return F.ConvTranspose2d(x, inputs["weight"], Optional("bias"), Pair(f, "stride"), Pair(f, "padding"), Pair(f, "output_padding"),
                Pair(f, "dilation"), f.Int("groups"));
        if (name.StartsWith("interpolate_", StringComparison.Ordinal))
        {
            var mode = f.String("mode") == "nearest" ? InterpolationMode.Nearest : InterpolationMode.Bilinear;
            bool? align = mode == InterpolationMode.Bilinear ? f.Bool("align_corners") : null;
            if (f.IsNull("size"))
            {
                var scale = f.Doubles("scale_factor");
                return F.Interpolate(x, scaleFactor: (scale[0], scale[1]), mode: mode, alignCorners: align);
            }
            return F.Interpolate(x, Pair(f, "size"), mode: mode, alignCorners: align);
        }
        if (name.StartsWith("group_norm_", StringComparison.Ordinal))
            return F.GroupNorm(x, f.Int("num_groups"), Optional("weight"), Optional("bias"), (float)f.Double("eps"));
        return F.LayerNorm(x, f.Ints("normalized_shape"), Optional("weight"), Optional("bias"), (float)f.Double("eps"));
    }

    [Theory, MemberData(nameof(Names))]
    public void Forward_and_backward_match_pytorch(string name)
    {
        var f = Fixture.Load(name);
        var inputs = f.Inputs.ToDictionary(e => e.Key, e => e.Value.ToTensor());
        foreach (var g in f.Grads.Keys) inputs[g].RequiresGrad = true;
        var y = Run(name, f, inputs);
        var expected = f.Output();
        TensorAssert.ShapeIs(y, expected.Shape);
        TensorAssert.Close(expected.Data, y, Tolerance.Accumulated, $"{name} output");
        y.Backward(f.GradOutput().ToTensor());
        Assert.NotEmpty(f.Grads);
        foreach (var (input, grad) in f.Grads)
            TensorAssert.Close(grad.Data, inputs[input].Grad!, Tolerance.Gradient, $"{name} gradient of {input}");
    }
}
