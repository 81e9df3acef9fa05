using System.Globalization;
using CnnSharp.Compile;
using CnnSharp.Compile.Ops;
using CnnSharp.Functional;
using CnnSharp.Kernels;
using CnnSharp.Models;
using CnnSharp.Modules;
using CnnSharp.Tests.TestUtilities;
using Xunit;

namespace CnnSharp.Tests.Compile.Ops;

/// <summary>
/// The fused conv chain (<see cref="ConvChainOp"/>) against the eager modules for every stage shape it takes (batch norm
/// in training or evaluation mode or none, ReLU or none, pooling or none, single- and 16k-channel inputs, 3x3 and 5x5
/// kernels, padding 0 to k − 1, odd sizes under pooling, batches not divisible by the chunk size), against the seed
/// engine, across thread counts, and for allocation.
/// </summary>
/// <remarks>Gradients are compared by relative L2 error per tensor (as in <see cref="RandomStackTests"/>): both sides
/// round differently, so a value within rounding of a ReLU or pooling kink may legitimately take the other branch.</remarks>
public sealed class ConvChainOpTests
{
    /// <summary>One stage: output channels, kernel, padding, batch norm (0 none, 1 momentum 0.1, 2 cumulative average,
    /// 3 without affine parameters), ReLU, 2x2 max pooling, stride ("k3s2": a strided first stage, StridedConv2d).</summary>
    public readonly record struct StageShape(int K, int Kernel, int Pad, int Norm, bool Relu, bool Pool, int Stride = 1);

    public static TheoryData<string> Chains => new()
    {
        "1x28 b7: 16 k5 p2 bn relu pool; 32 k5 p2 bn relu pool",     // the seed ConvNet's shape, 7 images (chunks of 3 and 4)
        "16x11 b6: 16 k3 p1 - relu -; 32 k3 p0 bn - pool",           // odd size into a floor pool (9 -> 4)
        "1x13 b4: 16 k3 p0 bn2 - pool; 16 k5 p4 - - -",               // cumulative-average momentum, odd pool, padding k - 1
        "16x10 b3: 16 k5 p2 bn3 relu -; 16 k3 p1 bn relu pool; 32 k3 p1 - - pool",
        "32x8 b5: 16 k3 p2 - - -",                                    // a single bare conv
        "16x11 b7: 32 k3s2 p1 bn relu -; 32 k3 p1 bn - -",            // a ResNet downsampling block's main branch, odd size (11 -> 6)
        "32x8 b6: 16 k1s2 p0 bn - -; 16 k3 p1 - - -",                 // the 1x1 stride-2 projection (one phase)
        "16x14 b5: 16 k3s2 p0 - relu pool; 16 k3 p1 bn - -",          // unpadded stride 2 into a pool (14 -> 6 -> 3)
    };

    private static (int C, int Size, int N, StageShape[] Stages) Parse(string spec)
    {
        var head = spec.Split(':')[0].Split(' ');
        var cs = head[0].Split('x');
        var stages = spec.Split(':')[1].Split(';').Select(s =>
        {
            var t = s.Trim().Split(' ');
            int norm = t[3] switch { "bn" => 1, "bn2" => 2, "bn3" => 3, _ => 0 };
            var kernel = t[1][1..].Split('s');
            return new StageShape(int.Parse(t[0], CultureInfo.InvariantCulture), int.Parse(kernel[0], CultureInfo.InvariantCulture), int.Parse(t[2][1..], CultureInfo.InvariantCulture), norm, t[4] == "relu", t[5] == "pool",
                kernel.Length > 1 ? int.Parse(kernel[1], CultureInfo.InvariantCulture) : 1);
        }).ToArray();
        return (int.Parse(cs[0], CultureInfo.InvariantCulture), int.Parse(cs[1], CultureInfo.InvariantCulture), int.Parse(head[1][1..], CultureInfo.InvariantCulture), stages);
    }

    internal static Sequential Build(string spec, ulong seed, out int[] shape)
    {
        var (c, size, n, stages) = Parse(spec);
        shape = [n, c, size, size];
        var g = new Generator(seed);
        var layers = new List<Module>();
        foreach (var s in stages)
        {
            layers.Add(new Conv2d(c, s.K, s.Kernel, stride: s.Stride, padding: s.Pad, bias: s.Norm != 3, generator: g));
            size = (size + 2 * s.Pad - s.Kernel) / s.Stride + 1;
            if (s.Norm > 0) layers.Add(new BatchNorm2d(s.K, momentum: s.Norm == 2 ? null : 0.1f, affine: s.Norm != 3));
            if (s.Relu) layers.Add(new ReLU());
            if (s.Pool)
            {
                layers.Add(new MaxPool2d(2));
                size /= 2;
            }
            c = s.K;
        }
        layers.Add(new Flatten());
        layers.Add(new Linear(c * size * size, 5, generator: g));
        return new Sequential([.. layers]);
    }

    private static (Module Eager, Module Compiled, int[] Shape) Pair(string spec)
    {
        var eager = Build(spec, 11, out var shape);
        var compiled = Build(spec, 11, out _);
        TestNets.CopyState(eager, compiled);
        return (eager, compiled, shape);
    }

    internal static int[] Labels(int n) => [.. Enumerable.Range(0, n).Select(i => (i * 3 + 1) % 5)];

    private static double RelativeError(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        double diff = 0, norm = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            diff += Math.Pow(expected[i] - actual[i], 2);
            norm += Math.Pow(expected[i], 2);
        }
        return Math.Sqrt(diff) / Math.Max(Math.Sqrt(norm), 1e-3);
    }

    private static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double limit, string what)
    {
        double e = RelativeError(expected, actual);
        Assert.True(e < limit, $"{what}: relative error {e:E2}");
    }

    private static void AssertGradients(Module eager, Module compiled, string what)
    {
        var cp = compiled.NamedParameters().ToDictionary(p => p.Key, p => p.Value);
        foreach (var (key, p) in eager.NamedParameters()) AssertClose(p.Grad!.Data, cp[key].Grad!.Data, 2e-3, $"{what} grad {key}");
    }

    [Theory, MemberData(nameof(Chains))]
    public void Train_steps_match_eager_gradients_and_running_stats(string spec)
    {
        var (eager, m, shape) = Pair(spec);
        var compiled = m.Compile(shape);
        Assert.Null(compiled.FallbackReason);
        string plan = compiled.Describe(shape);
        Assert.Contains("ConvChain[", plan, StringComparison.Ordinal);
        Assert.DoesNotContain("BatchNorm(batch stats) ->", plan, StringComparison.Ordinal); // every norm inside the chain
        var labels = Labels(shape[0]);
        for (int step = 0; step < 3; step++)
        {
            var x = Tensor.Randn(new Generator((ulong)(30 + step)), shape);
            eager.ZeroGrad();
            var loss = F.CrossEntropy(eager.Forward(x), labels);
            loss.Backward();
            float compiledLoss = compiled.TrainStep(x, labels);
            Assert.True(Math.Abs(loss.Item() - compiledLoss) <= 1e-4 * Math.Max(1, Math.Abs(loss.Item())), $"step {step}: loss {loss.Item()} vs {compiledLoss}");
            AssertGradients(eager, m, $"step {step}");
            foreach (var ((_, p), (_, q)) in eager.NamedParameters().Zip(m.NamedParameters()))
            {
                System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(p.Grad!.Data, -0.05f, p.Data, p.Data);
                p.Data.CopyTo(q.Data);
            }
        }
        // An inference plan in training mode: batch statistics (and a running-statistics update) without backward.
        using (CnnSharp.Autograd.GradMode.NoGrad())
        {
            var x = Tensor.Randn(new Generator(40), shape);
            AssertClose(eager.Forward(x).Data, compiled.Forward(x).Data, 1e-4, "no-grad training-mode output");
        }
        var buffers = m.NamedBuffers().ToDictionary(b => b.Key, b => b.Value);
        foreach (var (key, b) in eager.NamedBuffers()) AssertClose(b.Data, buffers[key].Data, 1e-4, $"buffer {key}");

        // Evaluation mode: running statistics as an affine map, in an inference plan and in a training plan.
        eager.Eval();
        m.Eval();
        var probe = Tensor.Randn(new Generator(5), shape);
        using (CnnSharp.Autograd.GradMode.NoGrad())
            AssertClose(eager.Forward(probe).Data, compiled.Forward(probe).Data, 1e-4, "eval output");
        Assert.Contains("ConvChain[", compiled.Describe(shape), StringComparison.Ordinal);
        eager.ZeroGrad();
        F.CrossEntropy(eager.Forward(probe), labels).Backward();
        compiled.TrainStep(probe, labels);
        AssertGradients(eager, m, "eval-mode step");
    }

    [Theory, MemberData(nameof(Chains))]
    public void Input_gradient_matches_eager(string spec)
    {
        var (eager, m, shape) = Pair(spec);
        var compiled = m.Compile();
        var x = Tensor.Randn(new Generator(4), shape).RequiresGrad_();
        var xc = x.Detach().RequiresGrad_();
        var labels = Labels(shape[0]);
        F.CrossEntropy(eager.Forward(x), labels).Backward();
        F.CrossEntropy(compiled.Forward(xc), labels).Backward();
        Assert.Null(compiled.FallbackReason);
        AssertClose(x.Grad!.Data, xc.Grad!.Data, 2e-3, "input grad");
        AssertGradients(eager, m, "autograd");
    }

    [Fact]
    public void Resnet_downsampling_convs_start_chains_in_training_plans()
    {
        var m = new ResNet8(10, new Generator(1));
        string train = m.Compile().Describe(4, 3, 32, 32);
        // Main branch: the stride-2 conv is a chain stage (an inner one: the downsampling blocks merge into the chain before
        // them, PlanBuilder.TrainingDownsampling); shortcut: the 1x1 stride-2 projection + batch norm, inside the same chain
        // (PlanBuilder.TrainingProjections).
        Assert.Contains("| Conv2d direct 16->32 3x3 stride 2+BatchNorm+ReLU | Conv2d", train, StringComparison.Ordinal);
        Assert.Contains("+Projection(16->32 1x1 stride 2+BatchNorm)+Add+ReLU | Conv2d", train, StringComparison.Ordinal);
        Assert.Contains("| Conv2d direct 32->64 3x3 stride 2+BatchNorm+ReLU | Conv2d", train, StringComparison.Ordinal);
        // No convolution stays on the implicit GEMM: the 3-channel stem starts block 1's merged chain (PlanBuilder.BlockedResiduals).
        Assert.DoesNotContain(train.Split(Environment.NewLine), l => l.StartsWith("Conv2d", StringComparison.Ordinal));
    }

    [Fact]
    public void Seed_convnet_and_vgg_small_run_their_convolutions_as_chains()
    {
        string convnet = new ConvNet(generator: new Generator(1)).Compile().Describe(4, 1, 28, 28);
        Assert.Contains("ConvChain[Conv2d direct 1->16 5x5+BatchNorm+ReLU+MaxPool2x2 | Conv2d", convnet, StringComparison.Ordinal);
        Assert.Contains("16->32 5x5+BatchNorm+ReLU+MaxPool2x2]", convnet, StringComparison.Ordinal);
        string vgg = new VggSmall(generator: new Generator(1)).Compile().Describe(2, 3, 32, 32);
        // One chain from the NCHW image to the last conv: the 3-channel stem (planar input) and the four 32k-channel convs.
        Assert.Contains("ConvChain[Conv2d direct 3->32 3x3+BatchNorm+ReLU | Conv2d", vgg, StringComparison.Ordinal);
        Assert.Contains("32->32 3x3+BatchNorm+ReLU+MaxPool2x2 | Conv2d", vgg, StringComparison.Ordinal);
        Assert.Contains("64->128 3x3+BatchNorm+ReLU]", vgg, StringComparison.Ordinal);
        Assert.Single(vgg.Split(Environment.NewLine), l => l.StartsWith("ConvChain[", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("16x10 b13: 16 k5 p2 bn3 relu -; 16 k3 p1 bn relu pool; 32 k3 p1 - - pool")]
    [InlineData("16x11 b13: 32 k3s2 p1 bn relu -; 32 k3 p1 bn - -")]
    public void Train_step_is_bit_identical_across_thread_counts(string spec) => AssertTrainStepThreadInvariant(spec);

    /// <summary>Two compiled train steps on the chain <paramref name="spec"/> (weights from seed 3), then a forward
    /// and backward with an input gradient: parameter gradients, buffers and the input gradient bit-identical for 1, 2
    /// and 3 threads.</summary>
    internal static void AssertTrainStepThreadInvariant(string spec) => ThreadCount.AssertInvariant(() =>
    {
        var m = Build(spec, 3, out var shape);
        var x = Tensor.Randn(new Generator(8), shape);
        var compiled = m.Compile();
        compiled.TrainStep(x, Labels(shape[0]));
        compiled.TrainStep(x, Labels(shape[0]));
        var input = x.Detach().RequiresGrad_();
        F.Sum(compiled.Forward(input)).Backward();
        return [.. m.Parameters().Select(p => p.Grad!.ToArray()), .. m.NamedBuffers().Select(b => b.Value.ToArray()), input.Grad!.ToArray()];
    });

    [Fact]
    public void Steady_state_chain_forward_and_backward_allocate_nothing()
    {
        var m = new ConvNet(generator: new Generator(2));
        int[] shape = [10, 1, 28, 28];
        var plan = PlanBuilder.Build(m, new Shape(shape), differentiable: true, inputRequiresGrad: false, out var failure, out _)!;
        Assert.Null(failure);
        var chain = Assert.Single(plan.Ops.OfType<ConvChainOp>());
        foreach (var p in plan.Parameters) p.Grad = Tensor.Zeros(p.Shape);
        var x = Tensor.Randn(new Generator(3), shape);
        plan.Forward(x.Storage);
        plan.Grad[plan.Output]!.AsSpan().Fill(0.01f);
        plan.Backward();
        // The least of three windows: a one-off lazy allocation (a wait handle's first real block under heavy machine
        // load) is not steady state; an allocation in every step still shows in all three.
        long least = long.MaxValue;
        for (int window = 0; window < 3; window++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 2; i++)
            {
                chain.Forward(plan);
                chain.Backward(plan);
            }
            least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        Assert.Equal(0, least);
    }
}
