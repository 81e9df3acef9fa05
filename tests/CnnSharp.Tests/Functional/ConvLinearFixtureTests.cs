using CnnSharp.Functional;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Functional;

/// <summary>F.Conv2d and F.Linear against PyTorch 1.13's own outputs and gradients (Fixtures/pytorch, see tests/reference).</summary>
public sealed class ConvLinearFixtureTests
{
    public static TheoryData<string> Conv2dFixtures() => Named("conv2d_");

    public static TheoryData<string> LinearFixtures() => Named("linear_");

    private static TheoryData<string> Named(string prefix)
    {
        var data = new TheoryData<string>();
        foreach (var name in Fixture.AllNames().Where(n => n.StartsWith(prefix, StringComparison.Ordinal))) data.Add(name);
        return data;
    }

    [Fact]
    public void Fixture_sets_are_present()
    {
        Assert.True(Conv2dFixtures().Count >= 9);
        Assert.True(LinearFixtures().Count >= 2);
    }

    [Theory, MemberData(nameof(Conv2dFixtures))]
    public void Conv2d_matches_pytorch_forward_and_gradients(string name)
    {
        var fx = Fixture.Load(name);
        bool hasBias = fx.Bool("bias");
        var (x, w, b) = Inputs(fx, hasBias);
        int[] s = fx.Ints("stride"), p = fx.Ints("padding"), d = fx.Ints("dilation");
        var y = F.Conv2d(x, w, b, (s[0], s[1]), (p[0], p[1]), (d[0], d[1]), fx.Int("groups"));
        AssertMatches(fx, y, x, w, b);
    }

    [Theory, MemberData(nameof(LinearFixtures))]
    public void Linear_matches_pytorch_forward_and_gradients(string name)
    {
        var fx = Fixture.Load(name);
        bool hasBias = fx.Bool("bias");
        var (x, w, b) = Inputs(fx, hasBias);
        AssertMatches(fx, F.Linear(x, w, b), x, w, b);
    }

    private static (Tensor X, Tensor W, Tensor? B) Inputs(Fixture fx, bool hasBias) =>
        (fx.Input("input").ToTensor().RequiresGrad_(), fx.Input("weight").ToTensor().RequiresGrad_(),
         hasBias ? fx.Input("bias").ToTensor().RequiresGrad_() : null);

    private static void AssertMatches(Fixture fx, Tensor y, Tensor x, Tensor w, Tensor? b)
    {
        Assert.Equal(fx.Output().Shape, y.Shape.ToArray());
        TensorAssert.Close(fx.Output().Data, y, Tolerance.Accumulated, $"{fx.Name} output");
        y.Backward(fx.GradOutput().ToTensor());
        TensorAssert.Close(fx.Grad("input").Data, x.Grad!, Tolerance.Accumulated, $"{fx.Name} grad input");
        TensorAssert.Close(fx.Grad("weight").Data, w.Grad!, Tolerance.Accumulated, $"{fx.Name} grad weight");
        if (b is not null) TensorAssert.Close(fx.Grad("bias").Data, b.Grad!, Tolerance.Accumulated, $"{fx.Name} grad bias");
    }
}
