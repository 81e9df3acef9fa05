using CnnSharp.Autograd;
using CnnSharp.Compile;
using CnnSharp.Compile.Ops;
using CnnSharp.Kernels;
using CnnSharp.Modules;
using CnnSharp.Tests.TestUtilities;
using Xunit;

namespace CnnSharp.Tests.Compile.Ops;

/// <summary>
/// Inference conv chains that pack their weights only when the tensors they pack from changed
/// (<c>ConvChainOp.ReusePackedWeights</c>, <see cref="PackSourceSnapshot"/>): back-to-back forwards pack once, and every
/// kind of change between two forwards (a stage's conv weight or bias, a stage's batch-norm parameter or running statistic,
/// a projection shortcut's conv weight or batch norm) gives the bits of a plan that packs every forward, on every ISA path,
/// for 1-3 threads and the intra-image split (batch 1).
/// </summary>
[Collection(nameof(PlanSwitchGroup))]
public sealed class ConvChainPackReuseTests
{
    private static CompiledModel Plan(Module m, int[] shape, bool reuse) => SwitchedPlans.Compile(m, shape, on => ConvChainOp.ReusePackedWeights = on, reuse);

    // Each edit changes one tensor a forward's packing reads (ConvChainProjectionTests' net: "0" the stem conv with a
    // bias, "1" its batch norm, "4" the first downsampling block with its projection "downsample.0" + "downsample.1").
    private static readonly (string Name, Action<Module> Edit)[] Edits =
    [
        ("stem weight", m => Param(m, "0.weight")[5] += 0.25f),
        ("stem bias", m => Param(m, "0.bias")[3] -= 0.5f),
        ("inner conv weight", m => Param(m, "3.conv2.weight")[..144].Fill(0.1f)),
        ("norm weight", m => Param(m, "4.bn1.weight")[7] += 0.5f),
        ("norm bias", m => Param(m, "6.bn2.bias")[2] -= 1f),
        ("running mean", m => Buffer(m, "3.bn1.running_mean").Fill(-3f)),
        ("running var", m => Buffer(m, "1.running_var")[0] *= 3f),
        ("projection weight", m => Param(m, "4.downsample.0.weight")[..16].Fill(0.3f)),
        ("projection norm", m => Buffer(m, "6.downsample.1.running_var")[4] *= 2f),
    ];

    private static Span<float> Param(Module m, string name) => m.NamedParameters().Single(p => p.Key == name).Value.Data;

    private static Span<float> Buffer(Module m, string name) => m.NamedBuffers().Single(b => b.Key == name).Value.Data;

    [Theory, MemberData(nameof(ConvChainProjectionTests.Levels), MemberType = typeof(ConvChainProjectionTests))]
    public void Forwards_pack_once_and_see_every_change_of_the_weights(int level)
    {
        using var isa = Isa.Use((IsaLevel)level);
        SwitchedPlans.SplitAlways(() =>
        {
            foreach (int n in new[] { 7, 1 })
            {
                var m = ConvChainProjectionTests.Net(new Generator(21));
                ConvChainProjectionTests.Randomise(m, new Generator(22));
                m.Eval();
                int[] shape = [n, 3, 31, 31];
                var reuse = Plan(m, shape, reuse: true);
                var every = Plan(m, shape, reuse: false);
                var x = Tensor.Randn(new Generator((ulong)(40 + n)), shape);
                using var _ = GradMode.NoGrad();
                float[] Reference()
                {
                    using var one = ExecutionOptions.Use(ExecutionOptions.Default with { Threads = 1 });
                    return every.Forward(x).ToArray();
                }
                var expected = Reference();
                Assert.Equal(expected, Forward(reuse, x, 1));
                long packings = Interlocked.Read(ref ConvChainOp.ForwardPackings);
                foreach (int threads in new[] { 2, 3, 1 }) Assert.Equal(expected, Forward(reuse, x, threads));
                Assert.Equal(packings, Interlocked.Read(ref ConvChainOp.ForwardPackings));
                foreach (var (name, edit) in Edits)
                {
                    edit(m);
                    var changed = Reference();
                    Assert.False(expected.AsSpan().SequenceEqual(changed), $"the {name} edit changed nothing");
                    foreach (int threads in new[] { 2, 1, 3 }) Assert.True(changed.AsSpan().SequenceEqual(Forward(reuse, x, threads)), $"batch {n}, {threads} threads: after the {name} edit");
                    expected = changed;
                }
            }
        });
    }

    [Fact]
    public void Training_steps_between_eval_forwards_are_seen()
    {
        var m = ConvChainProjectionTests.Net(new Generator(23));
        int[] shape = [5, 3, 31, 31];
        var compiled = Plan(m, shape, reuse: true);
        var x = Tensor.Randn(new Generator(24), shape);
        var labels = new[] { 0, 1, 2, 3, 4 };
        var optimizer = new CnnSharp.Optimizers.Sgd(m.Parameters(), lr: 0.1f);
        for (int step = 0; step < 2; step++)
        {
            m.Train();
            compiled.TrainStep(x, labels);
            optimizer.Step();
            m.Eval();
            using var _ = GradMode.NoGrad();
            var eager = m.Forward(x).ToArray();
            TensorAssert.Close(eager, compiled.Forward(x).ToArray(), new Tolerance(2e-4, 2e-5), $"step {step}");
        }
    }

    [Fact]
    public void Snapshot_compares_bits()
    {
        var t = new Tensor([0f, 1f, float.NaN], new Shape(3));
        var snapshot = new PackSourceSnapshot([t, null, t]);
        Assert.False(snapshot.Unchanged());
        snapshot.Take();
        Assert.True(snapshot.Unchanged());
        t.Data[0] = -0f;
        Assert.False(snapshot.Unchanged());
        snapshot.Take();
        Assert.True(snapshot.Unchanged());
        t.Data[2] = BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(float.NaN) ^ 1);
        Assert.False(snapshot.Unchanged());
    }

    private static float[] Forward(CompiledModel compiled, Tensor x, int threads)
    {
        using var scope = ExecutionOptions.Use(ExecutionOptions.Default with { Threads = threads });
        return compiled.Forward(x).ToArray();
    }
}
