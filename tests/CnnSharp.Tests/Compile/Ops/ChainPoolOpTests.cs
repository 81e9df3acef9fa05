using CnnSharp.Autograd;
using CnnSharp.Compile;
using CnnSharp.Compile.Ops;
using CnnSharp.Kernels;
using CnnSharp.Modules;
using CnnSharp.Tests.TestUtilities;
using Xunit;

namespace CnnSharp.Tests.Compile.Ops;

/// <summary>
/// An inference conv chain followed by a global average pool of its output, run as one op (<see cref="ChainPoolOp"/>: the
/// chain pools each image as it writes it): the bits of the two ops (the plan with <c>ChainPoolOp.Enabled</c> off) on
/// every ISA path, image by image and split inside the image (batch 1), for 1-3 threads; eager within the compiled tests'
/// tolerance; training plans keep the two ops.
/// </summary>
[Collection(nameof(PlanSwitchGroup))]
public sealed class ChainPoolOpTests
{
    private static readonly Tolerance Forward = new(2e-4, 2e-5);

    private static CompiledModel Plan(Module m, int[] shape, bool fuse) => SwitchedPlans.Compile(m, shape, on => ChainPoolOp.Enabled = on, fuse);

    [Theory, MemberData(nameof(ConvChainProjectionTests.Levels), MemberType = typeof(ConvChainProjectionTests))]
    public void Fused_pool_gives_the_two_ops_bits(int level)
    {
        using var isa = Isa.Use((IsaLevel)level);
        SwitchedPlans.SplitAlways(() =>
        {
            // ConvChainProjectionTests' net: one chain ending in an 8x8 map; at 25x25 its last block a chain of its own, 7x7, with
            // the projection a plan value added to its output (the chain's residual operand).
            foreach (var (n, side) in new[] { (7, 31), (1, 31), (2, 25), (3, 29) })
            {
                var m = ConvChainProjectionTests.Net(new Generator(31));
                ConvChainProjectionTests.Randomise(m, new Generator(32));
                m.Eval();
                int[] shape = [n, 3, side, side];
                var fused = Plan(m, shape, fuse: true);
                var separate = Plan(m, shape, fuse: false);
                Assert.True(fused.Describe(shape).Split(Environment.NewLine).Count(l => l.StartsWith("ConvChain[", StringComparison.Ordinal) && l.Contains(" > GlobalAvgPool2d -> (" + n + ", 48, 1, 1)", StringComparison.Ordinal)) == 1, fused.Describe(shape));
                Assert.DoesNotContain("> GlobalAvgPool2d", separate.Describe(shape), StringComparison.Ordinal);
                var x = Tensor.Randn(new Generator((ulong)(50 + n)), shape);
                using var _ = GradMode.NoGrad();
                var eager = m.Forward(x).ToArray();
                float[] expected;
                using (ExecutionOptions.Use(ExecutionOptions.Default with { Threads = 1 })) expected = separate.Forward(x).ToArray();
                TensorAssert.Close(eager, expected, Forward, $"batch {n}, {side}x{side}: against eager");
                // The split (batch below the thread count) first: a stale pooled value from an earlier forward hides nothing.
                foreach (int threads in new[] { 3, 2, 1 })
                {
                    using var scope = ExecutionOptions.Use(ExecutionOptions.Default with { Threads = threads });
                    Assert.True(expected.AsSpan().SequenceEqual(fused.Forward(x).ToArray()), $"batch {n}, {side}x{side}, {threads} threads");
                }
            }
        });
    }

    [Fact]
    public void Training_plans_keep_the_pool_op()
    {
        var m = ConvChainProjectionTests.Net(new Generator(33));
        int[] shape = [4, 3, 31, 31];
        var compiled = m.Compile(shape);
        var train = compiled.Describe(shape);
        Assert.DoesNotContain("> GlobalAvgPool2d", train, StringComparison.Ordinal);
        Assert.Contains("GlobalAvgPool2d", train, StringComparison.Ordinal);
        m.Eval();
        Assert.Contains("] > GlobalAvgPool2d", compiled.Describe(shape), StringComparison.Ordinal);
    }
}
