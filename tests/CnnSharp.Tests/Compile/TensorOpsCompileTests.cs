using CnnSharp.Autograd;
using CnnSharp.Functional;
using CnnSharp.Modules;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Compile;

/// <summary>Cat, Stack, Chunk, Narrow, Slice, Transpose and Permute inside compiled models: eager islands that read several plan values.</summary>
public sealed class TensorOpsCompileTests
{
    private static readonly Tolerance Forward = new(2e-4, 2e-5);
    private static readonly Tolerance Grads = new(2e-3, 2e-5);

    /// <summary>
    /// Inception-like: two convolutions of the same input concatenated along channels, chunked, restacked in the other
    /// order, transposed, narrowed and permuted, then a convolution and a linear head.
    /// </summary>
    private sealed class BranchNet : Module
    {
        private readonly Conv2d _a, _b, _c;
        private readonly Linear _fc;

        public BranchNet(Generator g)
        {
            _a = RegisterModule("a", new Conv2d(3, 4, 3, padding: 1, generator: g));
            _b = RegisterModule("b", new Conv2d(3, 4, 1, generator: g));
            _c = RegisterModule("c", new Conv2d(8, 6, 3, padding: 1, generator: g));
            _fc = RegisterModule("fc", new Linear(6 * 4 * 3, 5, generator: g));
        }

        public override Tensor Forward(Tensor input)
        {
            var y = F.Cat([F.Relu(_a.Forward(input)), _b.Forward(input)], dim: 1);     // (N, 8, 6, 6)
            var halves = y.Chunk(2, 1);                                                  // two (N, 4, 6, 6)
            y = F.Stack([halves[1], halves[0]], dim: 2).Reshape(y.Size(0), 8, 6, 6);    // interleaved channels
            y = F.Relu(_c.Forward(y)).Transpose(2, 3);                                   // (N, 6, 6, 6)
            y = y.Narrow(2, 1, 4).Slice(3, 0, null, 2);                                  // (N, 6, 4, 3)
            return _fc.Forward(F.Flatten(y.Permute(0, 2, 3, 1), 1));
        }
    }

    private static (BranchNet Eager, BranchNet Compiled) Pair()
    {
        var eager = new BranchNet(new Generator(4));
        var compiled = new BranchNet(new Generator(4));
        TestNets.CopyState(eager, compiled);
        return (eager, compiled);
    }

    [Fact]
    public void A_model_concatenating_two_branches_compiles_with_graph_breaks()
    {
        var (_, m) = Pair();
        var compiled = m.Compile(3, 3, 6, 6);
        Assert.Null(compiled.FallbackReason);
        string breaks = string.Join(",", compiled.GraphBreaks);
        foreach (var op in new[] { "Cat", "Stack", "Narrow", "Slice", "Transpose", "Permute" })
            Assert.Contains(op + "Backward", breaks, StringComparison.Ordinal);
        Assert.Contains("(graph break)", compiled.Describe(3, 3, 6, 6), StringComparison.Ordinal);
    }

    [Fact]
    public void Training_steps_match_eager_gradients()
    {
        var (eager, m) = Pair();
        var compiled = m.Compile();
        int[] labels = [0, 3, 1];
        for (int step = 0; step < 2; step++)
        {
            var x = Tensor.Randn(new Generator((ulong)(20 + step)), 3, 3, 6, 6);
            eager.ZeroGrad();
            var loss = F.CrossEntropy(eager.Forward(x), labels);
            loss.Backward();
            Assert.Equal(loss.Item(), compiled.TrainStep(x, labels), 4);
            Assert.Null(compiled.FallbackReason);
            var cp = m.NamedParameters().ToDictionary(p => p.Key, p => p.Value);
            foreach (var (key, p) in eager.NamedParameters())
                TensorAssert.Close(p.Grad!.Data, cp[key].Grad!.Data, Grads, $"step {step} grad {key}");
        }
    }

    [Fact]
    public void Forward_and_input_gradient_match_eager()
    {
        var (eager, m) = Pair();
        var compiled = m.Compile();
        var x0 = Tensor.Randn(new Generator(8), 3, 3, 6, 6);
        var xe = x0.Clone().RequiresGrad_();
        var xc = x0.Clone().RequiresGrad_();
        var g = Tensor.Randn(new Generator(9), 3, 5);
        var ye = eager.Forward(xe);
        var yc = compiled.Forward(xc);
        Assert.Null(compiled.FallbackReason);
        TensorAssert.Close(ye.Data, yc.Data, Forward, "output");
        ye.Backward(g);
        yc.Backward(g);
        TensorAssert.Close(xe.Grad!.Data, xc.Grad!.Data, Grads, "input gradient");
    }

    [Fact]
    public void Eval_plans_reusing_buffers_match_eager()
    {
        var (eager, m) = Pair();
        eager.Eval();
        m.Eval();
        var compiled = m.Compile(3, 3, 6, 6);
        using var _ = GradMode.NoGrad();
        for (int i = 0; i < 2; i++)
        {
            var x = Tensor.Randn(new Generator((ulong)(30 + i)), 3, 3, 6, 6);
            TensorAssert.Close(eager.Forward(x).Data, compiled.Forward(x).Data, Forward, $"input {i}");
        }
        Assert.Null(compiled.FallbackReason);
    }
}
