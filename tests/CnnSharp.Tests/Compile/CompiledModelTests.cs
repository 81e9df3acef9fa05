using CnnSharp.Compile;
using CnnSharp.Compile.Ops;
using CnnSharp.Functional;
using CnnSharp.Kernels;
using CnnSharp.Models;
using CnnSharp.Modules;
using CnnSharp.Tests.TestUtilities;
using Xunit;

namespace CnnSharp.Tests.Compile;

/// <summary>The compiled path against the eager module: forward, every gradient and running statistics.</summary>
[Collection(nameof(PlanSwitchGroup))]
public sealed class CompiledModelTests
{
    private static readonly Tolerance Forward = new(2e-4, 2e-5);
    private static readonly Tolerance Grads = new(2e-3, 2e-5);

    // resnet8 (3x32x32) and resnet20 on 1x28x28 (Fashion-MNIST sized) have 16k-channel residual blocks: their conv chains
    // end in the fused residual Add + ReLU.
    public static TheoryData<string> Models => new() { "resnet", "vgg", "convnet", "lenet5", "mobilenet", "resnet8", "resnet20_gray", "resnet9", "vgg_small" };

    private static (Module Eager, Module Compiled, int[] Shape) Pair(string name)
    {
        Module Make() => name switch
        {
            "resnet" => TestNets.ResNet(new Generator(3)),
            "vgg" => TestNets.Vgg(new Generator(3)),
            "mobilenet" => TestNets.MobileNet(new Generator(3)),
            "resnet8" => new ResNet8(10, new Generator(3)),
            "resnet20_gray" => new ResNet20(10, new Generator(3), inChannels: 1),
            "resnet9" => new ResNet9(10, new Generator(3)),
            "vgg_small" => new VggSmall(generator: new Generator(3)),
            "convnet" => new ConvNet(generator: new Generator(3)),
            _ => LeNet5.Create(generator: new Generator(3)),
        };
        int[] shape = name switch
        {
            "convnet" or "lenet5" or "resnet20_gray" or "resnet9" => [6, 1, 28, 28],
            "resnet8" or "vgg_small" => [6, 3, 32, 32],
            _ => [6, 3, 16, 16],
        };
        var a = Make();
        var b = Make();
        TestNets.CopyState(a, b);
        return (a, b, shape);
    }

    // ResNet20 on 1x28x28 at batch 6: 19 training-mode batch norms amplify float rounding in the gradients (up to ~1.5%
    // relative L2 error in single batch-norm parameters, measured the same with the residual Add + ReLU fused into the
    // conv chains or run as separate ops), so its gradients are compared by relative L2 error over each tensor. VGG-small
    // at 3x32x32 likewise: one ReLU or pooling kink taking the other branch under different rounding moves every gradient
    // below it by ~0.3-0.7% relative L2 (measured at batch 6 and 32, with the stem in the chain and on the GEMM).
    private static void AssertGradClose(string name, ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string what)
    {
        if (name is not ("resnet20_gray" or "vgg_small"))
        {
            TensorAssert.Close(expected, actual, Grads, what);
            return;
        }
        double num = 0, den = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double d = expected[i] - actual[i];
            num += d * d;
            den += (double)expected[i] * expected[i];
        }
        double error = Math.Sqrt(num / Math.Max(den, 1e-30));
        // A conv bias before a training-mode batch norm has a gradient of rounding noise only (the norm removes the mean):
        // relative L2 means nothing there, the element-wise tolerance's absolute part applies.
        if (error > 3e-2) TensorAssert.Close(expected, actual, Grads, $"{what}: relative L2 error {error:E2} > 3e-2, and element-wise");
    }

    private static int[] Labels(int n, int classes) => [.. Enumerable.Range(0, n).Select(i => (i * 7 + 3) % classes)];

    [Theory]
    [MemberData(nameof(Models))]
    public void Compiles_without_fallback(string name)
    {
        var (_, m, shape) = Pair(name);
        var compiled = m.Compile(shape);
        Assert.Null(compiled.FallbackReason);
        Assert.NotEmpty(compiled.Describe(shape));
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void Eval_forward_matches_eager(string name)
    {
        var (eager, m, shape) = Pair(name);
        // Non-trivial running statistics, so folding is exercised.
        var x0 = Tensor.Randn(new Generator(9), shape);
        eager.Forward(x0);
        TestNets.CopyState(eager, m);
        eager.Eval();
        m.Eval();
        var compiled = m.Compile();
        var x = Tensor.Randn(new Generator(5), shape);
        using var _ = CnnSharp.Autograd.GradMode.NoGrad();
        var expected = eager.Forward(x);
        var actual = compiled.Forward(x);
        Assert.Null(compiled.FallbackReason);
        TensorAssert.Close(expected.Data, actual.Data, Forward, "eval output");
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void Train_steps_match_eager_gradients_and_running_stats(string name)
    {
        var (eager, m, shape) = Pair(name);
        var compiled = m.Compile(shape);
        var eagerParams = eager.NamedParameters().ToList();
        var compiledParams = m.NamedParameters().ToDictionary(p => p.Key, p => p.Value);
        for (int step = 0; step < 3; step++)
        {
            var x = Tensor.Randn(new Generator((ulong)(20 + step)), shape);
            int classes = name is "resnet" or "vgg" or "mobilenet" ? 5 : 10;
            var labels = Labels(shape[0], classes);
            eager.ZeroGrad();
            var loss = F.CrossEntropy(eager.Forward(x), labels);
            loss.Backward();
            float compiledLoss = compiled.TrainStep(x, labels);
            Assert.Null(compiled.FallbackReason);
            Assert.Equal(loss.Item(), compiledLoss, 4);
            foreach (var (key, p) in eagerParams)
                AssertGradClose(name, p.Grad!.Data, compiledParams[key].Grad!.Data, $"step {step} grad {key}");
            // Same SGD update on both, so later steps compare from equal weights.
            foreach (var (key, p) in eagerParams)
            {
                System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(p.Grad!.Data, -0.05f, p.Data, p.Data);
                compiledParams[key].Data.Clear();
                p.Data.CopyTo(compiledParams[key].Data);
            }
        }
        var eagerBuffers = eager.NamedBuffers().ToList();
        var compiledBuffers = m.NamedBuffers().ToDictionary(b => b.Key, b => b.Value);
        foreach (var (key, b) in eagerBuffers)
            TensorAssert.Close(b.Data, compiledBuffers[key].Data, Forward, $"buffer {key}");
    }

    [Fact]
    public void Train_step_with_label_smoothing_matches_eager()
    {
        var (eager, m, shape) = Pair("lenet5");
        var compiled = m.Compile(shape);
        var x = Tensor.Randn(new Generator(31), shape);
        var labels = Labels(shape[0], 10);
        eager.ZeroGrad();
        var loss = F.CrossEntropy(eager.Forward(x), labels, labelSmoothing: 0.2f);
        loss.Backward();
        float compiledLoss = compiled.TrainStep(x, labels, out _, labelSmoothing: 0.2f);
        Assert.Null(compiled.FallbackReason);
        Assert.Equal(loss.Item(), compiledLoss, 4);
        Assert.NotEqual(F.CrossEntropy(eager.Forward(x), labels).Item(), compiledLoss, 3); // the smoothing took effect
        var compiledParams = m.NamedParameters().ToDictionary(p => p.Key, p => p.Value);
        foreach (var (key, p) in eager.NamedParameters())
            AssertGradClose("lenet5", p.Grad!.Data, compiledParams[key].Grad!.Data, $"grad {key}");
        Assert.Throws<ArgumentOutOfRangeException>(() => compiled.TrainStep(x, labels, out _, labelSmoothing: 1.5f));
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void Autograd_forward_backward_matches_eager(string name)
    {
        var (eager, m, shape) = Pair(name);
        var compiled = m.Compile();
        var x = Tensor.Randn(new Generator(4), shape).RequiresGrad_();
        var xc = x.Detach().RequiresGrad_();
        int classes = name is "resnet" or "vgg" or "mobilenet" ? 5 : 10;
        var labels = Labels(shape[0], classes);
        F.CrossEntropy(eager.Forward(x), labels).Backward();
        F.CrossEntropy(compiled.Forward(xc), labels).Backward();
        Assert.Null(compiled.FallbackReason);
        AssertGradClose(name, x.Grad!.Data, xc.Grad!.Data, "input grad");
        var cp = m.NamedParameters().ToDictionary(p => p.Key, p => p.Value);
        foreach (var (key, p) in eager.NamedParameters())
            AssertGradClose(name, p.Grad!.Data, cp[key].Grad!.Data, $"grad {key}");
    }

    [Fact]
    public void Wide_stride_one_convs_take_the_direct_or_winograd_kernels()
    {
        var plan = TestNets.Vgg(new Generator(1)).Compile().Describe(6, 3, 16, 16);
        // 16->16 at 16x16 has 16 output tiles of 4x4: Winograd where the ISA has 256-bit vectors, direct below.
        Assert.Contains(Isa.Level >= IsaLevel.V256 ? "Conv2d winograd 16->16 3x3" : "Conv2d direct 16->16 3x3", plan);
        // 16->32 at 8x8 (4 tiles, few channels: ConvChainLayer.SmallMapWinograd) too; the 3-channel stem is the chain's
        // planar first stage.
        Assert.Contains(Isa.Level >= IsaLevel.V256 ? "Conv2d winograd 16->32 3x3" : "Conv2d direct 16->32 3x3", plan);
        Assert.Contains("ConvChain[Conv2d direct 3->16 3x3+BatchNorm+ReLU | Conv2d", plan);
    }

    [Fact]
    public void Backward_after_a_later_forward_is_a_clear_error()
    {
        var m = TestNets.Vgg(new Generator(1));
        var compiled = m.Compile();
        var x = Tensor.Randn(new Generator(2), 2, 3, 8, 8);
        var first = compiled.Forward(x);
        compiled.Forward(x);
        var e = Assert.Throws<InvalidOperationException>(() => F.Sum(first).Backward());
        Assert.Contains("Backward before the next Forward", e.Message);
    }

    /// <summary>A stop-gradient in the middle of a forward: the plan cannot follow a detached view of its own value.</summary>
    private sealed class DetachModule : Module
    {
        public override Tensor Forward(Tensor input) => input.Detach();
    }

    [Fact]
    public void A_model_the_plan_cannot_follow_falls_back_to_eager_with_a_reason_and_eager_results()
    {
        // Before the detached-view check the detached tensor was planned as a constant: every later input got the
        // traced input's result.
        var g = new Generator(1);
        var m = new Sequential(new Conv2d(1, 4, 3, generator: g), new DetachModule(), new Flatten(), new Linear(4 * 6 * 6, 3, generator: g));
        var compiled = m.Compile(2, 1, 8, 8);
        Assert.NotNull(compiled.FallbackReason);
        Assert.Contains("detached view", compiled.FallbackReason, StringComparison.Ordinal);
        m.Eval();
        using var _ = CnnSharp.Autograd.GradMode.NoGrad();
        for (ulong seed = 2; seed < 4; seed++)
        {
            var x = Tensor.Randn(new Generator(seed), 2, 1, 8, 8);
            TensorAssert.Close(m.Forward(x).Data, compiled.Forward(x).Data, Tolerance.Float32, $"fallback output, input {seed}");
        }
    }

    /// <summary>A model mixing compiled ops with ops that only have an eager form, a broadcasting multiply by a parameter
    /// and a reduction among them.</summary>
    private sealed class IslandNet : Module
    {
        private readonly Conv2d _conv;
        private readonly BatchNorm2d _bn;
        private readonly Linear _fc;
        private readonly Tensor _gate;

        public IslandNet(Generator g)
        {
            _conv = RegisterModule("conv", new Conv2d(3, 16, 3, padding: 1, generator: g));
            _bn = RegisterModule("bn", new BatchNorm2d(16));
            _fc = RegisterModule("fc", new Linear(16, 5, generator: g));
            _gate = RegisterParameter("gate", Tensor.Randn(g, 1, 16, 1, 1));
        }

        public override Tensor Forward(Tensor input)
        {
            var y = F.LeakyRelu(_bn.Forward(_conv.Forward(input)), 0.1f);
            y = F.Relu(y * _gate + y);
            var pooled = F.Mean(y, 3);
            pooled = F.Mean(pooled, 2);
            return F.LogSoftmax(_fc.Forward(pooled), 1);
        }
    }

    [Fact]
    public void Ops_without_a_compiled_form_run_as_eager_islands_with_the_same_results()
    {
        var eager = new IslandNet(new Generator(4));
        var m = new IslandNet(new Generator(4));
        TestNets.CopyState(eager, m);
        var compiled = m.Compile(4, 3, 8, 8);
        Assert.Null(compiled.FallbackReason);
        Assert.Contains("LeakyRelu", string.Join(",", compiled.GraphBreaks), StringComparison.OrdinalIgnoreCase);
        string plan = compiled.Describe(4, 3, 8, 8);
        Assert.Contains("BatchNorm(batch stats) ->", plan, StringComparison.Ordinal);
        Assert.Contains("Linear(16->5) ->", plan, StringComparison.Ordinal);
        Assert.Contains("(graph break)", plan, StringComparison.Ordinal);
        int[] labels = [0, 3, 1, 4];
        for (int step = 0; step < 2; step++)
        {
            var x = Tensor.Randn(new Generator((ulong)(9 + step)), 4, 3, 8, 8);
            eager.ZeroGrad();
            var loss = F.CrossEntropy(eager.Forward(x), labels);
            loss.Backward();
            float compiledLoss = compiled.TrainStep(x, labels);
            Assert.Equal(loss.Item(), compiledLoss, 4);
            var cp = m.NamedParameters().ToDictionary(p => p.Key, p => p.Value);
            foreach (var (key, p) in eager.NamedParameters())
                TensorAssert.Close(p.Grad!.Data, cp[key].Grad!.Data, Grads, $"step {step} grad {key}");
        }
        eager.Eval();
        m.Eval();
        using var _ = CnnSharp.Autograd.GradMode.NoGrad();
        var probe = Tensor.Randn(new Generator(3), 4, 3, 8, 8);
        TensorAssert.Close(eager.Forward(probe).Data, compiled.Forward(probe).Data, Forward, "eval output");
    }

    [Fact]
    public void A_model_that_reshapes_its_input_first_reads_each_new_input()
    {
        var g = new Generator(6);
        var eager = new Sequential(new Flatten(), new Linear(2 * 4 * 4, 8, generator: g), new ReLU(), new Linear(8, 3, generator: g));
        var compiled = eager.Compile(5, 2, 4, 4);
        Assert.Null(compiled.FallbackReason);
        using var _ = CnnSharp.Autograd.GradMode.NoGrad();
        for (int i = 0; i < 3; i++)
        {
            var x = Tensor.Randn(new Generator((ulong)(40 + i)), 5, 2, 4, 4);
            TensorAssert.Close(eager.Forward(x).Data, compiled.Forward(x).Data, Forward, $"input {i}");
        }
    }

    [Fact]
    public void Tracing_leaves_running_statistics_untouched()
    {
        var m = TestNets.ResNet(new Generator(1));
        var before = m.NamedBuffers().Select(b => b.Value.ToArray()).ToList();
        m.Compile(2, 3, 8, 8);
        var after = m.NamedBuffers().Select(b => b.Value.ToArray()).ToList();
        Assert.Equal(before, after);
    }

    [Theory]
    [InlineData("resnet8")]
    [InlineData("resnet20_gray")]
    public void Residual_adds_fuse_into_the_conv_chains(string name)
    {
        var (_, m, shape) = Pair(name);
        foreach (bool training in new[] { true, false })
        {
            if (training) m.Train();
            else m.Eval();
            string plan = m.Compile(shape).Describe(shape);
            var lines = plan.Split(Environment.NewLine);
            // Every block's Add + ReLU is the epilogue of the chain computing its main branch (in training plans, of a
            // stage of a merged chain, "+BatchNorm+Add+ReLU", or of the chain, "]+Add+ReLU"); none runs on its own.
            Assert.DoesNotContain(lines, l => l.StartsWith("Add", StringComparison.Ordinal));
            int blocks = name == "resnet8" ? 3 : 9;
            Assert.Equal(blocks, lines.Sum(l => l.Split("+Add+ReLU").Length - 1));
            Assert.Contains(lines, l => l.Contains("+Add+ReLU", StringComparison.Ordinal) && l.Contains($"-> ({shape[0]}, 64, ", StringComparison.Ordinal));
        }
    }

    [Theory]
    [InlineData("resnet8", 1, 2)]
    [InlineData("resnet20_gray", 1, 1)]
    public void Identity_blocks_merge_into_the_chain_before_them_in_training_and_inference_plans(string name, int chains, int evalProjections)
    {
        var (_, m, shape) = Pair(name);
        var lines = m.Compile(shape).Describe(shape).Split(Environment.NewLine);
        m.Eval();
        var eval = m.Compile(shape).Describe(shape).Split(Environment.NewLine);
        m.Train();
        // The stem and stage 1's blocks are one chain (the stem's output, block 1's skip, stays blocked); each later stage
        // joins it too, its projection inside (PlanBuilder.TrainingProjections, TrainingDownsampling): one chain in ResNet8 and ResNet20.
        Assert.Equal(chains, lines.Count(l => l.StartsWith("ConvChain[", StringComparison.Ordinal)));
        // (Winograd or direct for the 16->16 stages by ISA level: 128-bit and scalar paths have no Winograd tiles.)
        Assert.StartsWith("ConvChain[Conv2d direct " + (name == "resnet8" ? "3" : "1") + "->16 3x3+BatchNorm+ReLU | Conv2d ", lines[0], StringComparison.Ordinal);
        Assert.Contains(" 16->16 3x3+BatchNorm+Add+ReLU", lines[0], StringComparison.Ordinal);
        Assert.DoesNotContain(lines, l => l.StartsWith("Conv2d", StringComparison.Ordinal) || l.StartsWith("BatchNorm", StringComparison.Ordinal));
        // A downsampling block's projection shortcut becomes an inner add of the merged chain of its stage.
        if (name == "resnet20_gray")
            Assert.Contains(lines, l => l.Contains("32->32 3x3+BatchNorm+Projection(16->32 1x1 stride 2+BatchNorm)+Add+ReLU | Conv2d", StringComparison.Ordinal));
        // Inference plans merge the same blocks (batch norms folded into the stages' epilogues), and the downsampling
        // blocks too, with their projection shortcuts inside (PlanBuilder.InferenceProjections): ResNet8 is one chain;
        // ResNet20's last stage starts with a 3x3 stride-2 conv of a 7x7 output, which stays on the GEMM
        // (PlanBuilder.MaxStridedGemmPixels), so only its stage 2 joins the first chain.
        Assert.StartsWith("ConvChain[", eval[0], StringComparison.Ordinal);
        Assert.Contains(" 16->16 3x3+BatchNorm(running stats)+Add+ReLU", eval[0], StringComparison.Ordinal);
        Assert.Equal(evalProjections, eval[0].Split("+Projection(").Length - 1);
        if (name == "resnet8") Assert.Single(eval, l => l.StartsWith("ConvChain[", StringComparison.Ordinal));
        Assert.DoesNotContain(eval, l => l.StartsWith("BatchNorm", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("resnet8", 6)]
    [InlineData("resnet20_gray", 6)]
    [InlineData("resnet9", 6)]
    [InlineData("resnet8", 1)]
    [InlineData("resnet20_gray", 1)]
    public void Merged_inference_chains_give_the_bits_of_one_chain_per_block(string name, int batch)
    {
        // Eval forward with PlanBuilder.BlockedInferenceResiduals off (A) and on (B): the same arithmetic per element (the
        // skip added to the folded epilogue's output, then ReLU), so the same bits, except ResNet8's RGB stem, which runs on
        // the GEMM in A and joins the chain (direct kernel) in B; batch 1 takes the intra-image split.
        var (eager, m, shape) = Pair(name);
        shape = [batch, .. shape[1..]];
        int[] warmShape = [6, .. shape[1..]];
        var warm = Tensor.Randn(new Generator(9), warmShape);
        eager.Forward(warm);
        TestNets.CopyState(eager, m);
        m.Eval();
        long minSplit = ConvChainOp.MinSplitMacs;
        int threads = Parallelism.MaxThreads;
        try
        {
            ConvChainOp.MinSplitMacs = 0;
            Parallelism.MaxThreads = 2;
            PlanBuilder.BlockedInferenceResiduals = false;
            var a = m.Compile(shape);
            Assert.DoesNotContain("(running stats)+Add", a.Describe(shape), StringComparison.Ordinal);
            PlanBuilder.BlockedInferenceResiduals = true;
            // (Projection shortcuts stay their own chains here: in-chain ones fold their batch norm, other bits; see
            // ConvChainProjectionTests.)
            PlanBuilder.InferenceProjections = false;
            var b = m.Compile(shape);
            PlanBuilder.InferenceProjections = true;
            var c = m.Compile(shape);
            Assert.Contains("+BatchNorm(running stats)+Add+ReLU", b.Describe(shape), StringComparison.Ordinal);
            if (name != "resnet9") Assert.Contains("+Projection(", c.Describe(shape), StringComparison.Ordinal);
            var x = Tensor.Randn(new Generator(31), shape);
            using var _ = CnnSharp.Autograd.GradMode.NoGrad();
            long split = ConvChainOp.SplitForwards;
            var ya = a.Forward(x).ToArray();
            var yb = b.Forward(x).ToArray();
            if (batch == 1) Assert.True(ConvChainOp.SplitForwards > split, "batch 1 should run split inside the image");
            if (name == "resnet8") TensorAssert.Close(ya, yb, Forward, "merged against one chain per block");
            else Assert.Equal(ya, yb);
            eager.Eval();
            var expected = eager.Forward(x).Data;
            TensorAssert.Close(expected, yb, Forward, "merged eval output");
            TensorAssert.Close(expected, c.Forward(x).ToArray(), Forward, "eval output with in-chain projections");
        }
        finally
        {
            PlanBuilder.InferenceProjections = true;
            PlanBuilder.BlockedInferenceResiduals = true;
            ConvChainOp.MinSplitMacs = minSplit;
            Parallelism.MaxThreads = threads;
        }
    }

    [Theory]
    [InlineData("resnet8")]
    [InlineData("resnet20_gray")]
    public void Merged_residual_chains_match_one_chain_per_block(string name)
    {
        // The same train steps with PlanBuilder.BlockedResiduals off (A) and on (B): the same arithmetic but for the stem
        // (GEMM in A, direct in B for ResNet8) and the order of two-term sums, so gradients, running statistics and losses agree
        // to rounding.
        var (a, b, shape) = Pair(name);
        var labels = Labels(shape[0], 10);
        CompiledModel ca;
        try
        {
            PlanBuilder.BlockedResiduals = false;
            ca = a.Compile(shape);
            Assert.DoesNotContain("+BatchNorm+Add", ca.Describe(shape), StringComparison.Ordinal);
        }
        finally
        {
            PlanBuilder.BlockedResiduals = true;
        }
        var cb = b.Compile(shape);
        Assert.Contains("+BatchNorm+Add+ReLU", cb.Describe(shape), StringComparison.Ordinal);
        for (int step = 0; step < 2; step++)
        {
            var x = Tensor.Randn(new Generator((ulong)(60 + step)), shape);
            float la = ca.TrainStep(x, labels), lb = cb.TrainStep(x, labels);
            Assert.True(Math.Abs(la - lb) <= 1e-5 * Math.Max(1, Math.Abs(la)), $"step {step}: loss {la} vs {lb}");
            var pb = b.NamedParameters().ToDictionary(p => p.Key, p => p.Value);
            foreach (var (key, p) in a.NamedParameters()) AssertGradClose(name, p.Grad!.Data, pb[key].Grad!.Data, $"step {step} grad {key}");
        }
        var bb = b.NamedBuffers().ToDictionary(p => p.Key, p => p.Value);
        foreach (var (key, buffer) in a.NamedBuffers()) TensorAssert.Close(buffer.Data, bb[key].Data, Forward, $"buffer {key}");
    }

    [Fact]
    public void Residual_chain_train_steps_do_not_allocate_in_steady_state()
    {
        var (_, m, shape) = Pair("resnet8");
        var compiled = m.Compile(shape);
        var x = Tensor.Randn(new Generator(2), shape);
        var labels = Labels(shape[0], 10);
        // Past tiered JIT compilation first (tier-0 code may allocate), as the trainer's allocation tests do.
        for (int round = 0; round < 2; round++)
        {
            for (int i = 0; i < 35; i++) compiled.TrainStep(x, labels);
            Thread.Sleep(300);
        }
        long start = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10; i++) compiled.TrainStep(x, labels);
        long perStep = (GC.GetAllocatedBytesForCurrentThread() - start) / 10;
        // The bound docs/compile.md states: a few KB of worker-pool closures (2.6 KB for this plan, from the ops outside
        // the chains, the same with the residual Add + ReLU as a separate op); the fused residual adds nothing.
        Assert.True(perStep < 4096, $"{perStep} bytes allocated per training step");
    }

    [Theory]
    [InlineData("resnet")]
    [InlineData("mobilenet")]
    [InlineData("resnet8")]
    [InlineData("resnet20_gray")]
    [InlineData("vgg_small")]
    public void Train_step_is_bit_identical_across_thread_counts(string name)
    {
        float[][] Run(int threads)
        {
            int saved = Parallelism.MaxThreads;
            Parallelism.MaxThreads = threads;
            try
            {
                Module m = name switch
                {
                    "resnet" => TestNets.ResNet(new Generator(7)),
                    "resnet8" => new ResNet8(10, new Generator(7)),
                    "resnet20_gray" => new ResNet20(10, new Generator(7), inChannels: 1),
                    "vgg_small" => new VggSmall(generator: new Generator(7)),
                    _ => TestNets.MobileNet(new Generator(7)),
                };
                var compiled = m.Compile();
                int[] shape = name switch { "resnet8" or "vgg_small" => [12, 3, 32, 32], "resnet20_gray" => [12, 1, 28, 28], _ => [8, 3, 16, 16] };
                var x = Tensor.Randn(new Generator(8), shape);
                compiled.TrainStep(x, Labels(shape[0], 5));
                return [.. m.Parameters().Select(p => p.Grad!.ToArray()), .. m.NamedBuffers().Select(b => b.Value.ToArray())];
            }
            finally
            {
                Parallelism.MaxThreads = saved;
            }
        }
        var one = Run(1);
        var two = Run(2);
        var three = Run(3);
        Assert.Equal(one, two);
        Assert.Equal(one, three);
    }

    [Fact]
    public void Train_step_rejects_targets_that_do_not_match()
    {
        var compiled = TestNets.Vgg(new Generator(1)).Compile();
        var x = Tensor.Randn(new Generator(2), 2, 3, 8, 8);
        Assert.Throws<ShapeException>(() => compiled.TrainStep(x, [1]));
        Assert.Throws<ArgumentException>(() => compiled.TrainStep(x, [1, 9]));
    }

    // Found by hostile use: Compile(1, 1, 8, 8) on a model whose first conv takes 3 channels returned a CompiledModel as if
    // planned (the failure hid in FallbackReason) and the error only came on the first Forward.
    [Fact]
    public void Compile_on_a_shape_the_model_cannot_take_throws_naming_the_shape()
    {
        static Sequential Net() => new(new Conv2d(3, 8, 3, generator: new Generator(1)), new Flatten(), new Linear(8 * 6 * 6, 10, generator: new Generator(2)));
        var channels = Assert.Throws<ShapeException>(() => Net().Compile(1, 1, 8, 8));
        Assert.Contains("(1, 1, 8, 8)", channels.Message);
        Assert.Contains("Conv2d", channels.Message);
        var spatial = Assert.Throws<ShapeException>(() => Net().Compile(1, 3, 9, 9));
        Assert.Contains("Linear", spatial.Message);
        Assert.Throws<ShapeException>(() => Net().Compile(3, 8, 8));
        // A shape it takes still compiles, and an uncompilable-but-valid model still falls back quietly (not covered here).
        Assert.Null(Net().Compile(1, 3, 8, 8).FallbackReason);
    }
}
