using CnnSharp.Autograd;
using CnnSharp.Functional;
using CnnSharp.Kernels;
using CnnSharp.Modules;
using CnnSharp.Optimizers;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Compile;

/// <summary>
/// 1-D CNNs on the compiled executor: <c>F.Conv1d</c> traces as one height-1 2-D conv on its (N, C, L) values, the 1-D
/// poolings as 2-D pools on the height-1 view, BatchNorm1d as batch norm over (N, C, L). Each net compiles with no
/// fallback and no graph break, and matches the eager module: losses, every parameter gradient, the input gradient, the
/// parameters and batch-norm running statistics after several optimised steps, and the evaluation output (batch norm
/// folded into the convs), on every ISA path; bit-identical for 1-3 threads; random 1-D stacks too.
/// </summary>
public sealed class Conv1dCompileTests
{
    private static readonly Tolerance s_tol = new(3e-4, 3e-5);

    public static TheoryData<int> Levels => new() { (int)IsaLevel.V512, (int)IsaLevel.V256, (int)IsaLevel.V128, (int)IsaLevel.Scalar };

    public static TheoryData<string> Nets => new() { "audio", "dilated", "grouped", "pointwise" };

    /// <summary>The 1-D nets: every Conv1d option (stride, padding, dilation, groups incl. depthwise, with and without bias)
    /// and every 1-D pooling; odd lengths.</summary>
    internal static Sequential Net(string name, Generator g, out int[] shape)
    {
        switch (name)
        {
            case "audio": // the benchmark's shape of model, shorter
                shape = [5, 1, 203];
                return new Sequential(
                    new Conv1d(1, 16, 9, stride: 2, padding: 4, generator: g), new BatchNorm1d(16), new ReLU(), new MaxPool1d(2),
                    new Conv1d(16, 32, 5, padding: 2, generator: g), new BatchNorm1d(32), new ReLU(),
                    new AdaptiveAvgPool1d(1), new Flatten(), new Linear(32, 10, generator: g));
            case "dilated":
                shape = [4, 3, 61];
                return new Sequential(
                    new Conv1d(3, 8, 3, padding: 2, dilation: 2, bias: false, generator: g), new BatchNorm1d(8, momentum: null), new Tanh(),
                    new AvgPool1d(3, stride: 2, padding: 1, countIncludePad: false),
                    new Conv1d(8, 12, 4, stride: 3, padding: 1, dilation: 3, generator: g), new ReLU(),
                    new MaxPool1d(3, stride: 2, padding: 1, dilation: 2, ceilMode: true), new Flatten(), new Linear(12 * 4, 6, generator: g));
            case "grouped":
                shape = [3, 4, 37];
                return new Sequential(
                    new Conv1d(4, 8, 3, padding: 1, groups: 2, generator: g), new BatchNorm1d(8), new ReLU(),
                    new Conv1d(8, 8, 5, stride: 2, padding: 2, groups: 8, bias: false, generator: g), new BatchNorm1d(8), new Sigmoid(),
                    new Conv1d(8, 16, 1, generator: g), new AvgPool1d(2, ceilMode: true), new AdaptiveAvgPool1d(3), new Flatten(), new Linear(48, 4, generator: g));
            case "pointwise": // 1x1 convs of 16k channels: the direct-kernel conv chains take them (height 1)
                shape = [6, 2, 29];
                return new Sequential(
                    new Conv1d(2, 16, 3, padding: 1, generator: g), new BatchNorm1d(16), new ReLU(),
                    new Conv1d(16, 32, 1, bias: false, generator: g), new BatchNorm1d(32), new ReLU(),
                    new Conv1d(32, 16, 1, generator: g), new BatchNorm1d(16), new ReLU(),
                    new AdaptiveAvgPool1d(1), new Flatten(), new Linear(16, 5, generator: g));
            default:
                throw new ArgumentException($"no net {name}", nameof(name));
        }
    }

    private static int[] Labels(int n, int classes) => [.. Enumerable.Range(0, n).Select(i => (i * 7 + 2) % classes)];

    [Theory]
    [MemberData(nameof(Nets))]
    public void Net_compiles_without_fallback_or_graph_breaks_in_both_modes(string name)
    {
        var model = Net(name, new Generator(1), out var shape);
        var compiled = model.Compile(shape);
        string train = compiled.Describe(shape);
        Assert.Null(compiled.FallbackReason);
        Assert.Empty(compiled.GraphBreaks);
        model.Eval();
        string eval = compiled.Describe(shape);
        Assert.Null(compiled.FallbackReason);
        Assert.Empty(compiled.GraphBreaks);
        Assert.DoesNotContain("Eager", train + eval, StringComparison.Ordinal);
        if (name == "audio")
        {
            // Inference: each conv with its batch norm folded and the ReLU in the epilogue.
            Assert.Equal(2, eval.Split('\n').Count(l => l.StartsWith("Conv2d+BatchNorm(folded)+ReLU", StringComparison.Ordinal)));
            Assert.Contains("Conv2d -> (5, 16, 102)", train, StringComparison.Ordinal);
        }
        if (name == "pointwise") Assert.Contains("ConvChain[", train, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Levels))]
    public void Nets_train_and_evaluate_like_the_eager_module(int level)
    {
        using var isa = Isa.Use((IsaLevel)level);
        foreach (string name in new[] { "audio", "dilated", "grouped", "pointwise" }) TrainAndEvaluate(name);
    }

    private static void TrainAndEvaluate(string name)
    {
        var eager = Net(name, new Generator(2), out var shape);
        var twin = Net(name, new Generator(3), out _);
        int classes = eager.Forward(Tensor.Zeros(shape)).Size(1); // before the copy: it updates the running statistics
        TestNets.CopyState(eager, twin);
        var compiled = twin.Compile(shape);
        var eagerOpt = new Sgd(eager.Parameters(), lr: 0.05f, momentum: 0.9f);
        var twinOpt = new Sgd(twin.Parameters(), lr: 0.05f, momentum: 0.9f);
        var labels = Labels(shape[0], classes);
        for (int step = 0; step < 3; step++)
        {
            var x = Tensor.Randn(new Generator((ulong)(40 + step)), shape);
            eager.ZeroGrad();
            var loss = F.CrossEntropy(eager.Forward(x), labels);
            loss.Backward();
            float compiledLoss = compiled.TrainStep(x, labels);
            Assert.True(Math.Abs(loss.Item() - compiledLoss) <= 1e-4 * Math.Max(1, Math.Abs(loss.Item())), $"{name} step {step}: loss {loss.Item()} vs {compiledLoss}");
            var tp = twin.NamedParameters().ToDictionary(p => p.Key, p => p.Value);
            foreach (var (key, p) in eager.NamedParameters())
                TensorAssert.Close(p.Grad!.Data, tp[key].Grad!.Data, s_tol, $"{name} step {step}: grad {key}");
            eagerOpt.Step();
            twinOpt.Step();
        }
        Assert.Null(compiled.FallbackReason);
        Assert.Empty(compiled.GraphBreaks);
        var tb = twin.StateDict().ToDictionary(e => e.Key, e => e.Value);
        foreach (var (key, t) in eager.StateDict()) TensorAssert.Close(t.Data, tb[key].Data, s_tol, $"{name}: {key} after 3 steps");

        // The input gradient through a differentiable compiled forward (training mode).
        var probe = Tensor.Randn(new Generator(50), shape);
        var xe = probe.Clone().RequiresGrad_();
        var xc = probe.Clone().RequiresGrad_();
        var weights = Tensor.Randn(new Generator(51), shape[0], classes);
        F.Sum(F.Mul(eager.Forward(xe), weights)).Backward();
        F.Sum(F.Mul(compiled.Forward(xc), weights)).Backward();
        TensorAssert.Close(xe.Grad!.Data, xc.Grad!.Data, s_tol, $"{name}: input gradient");

        eager.Eval();
        twin.Eval();
        using var noGrad = GradMode.NoGrad();
        TensorAssert.Close(eager.Forward(probe).Data, compiled.Forward(probe).Data, s_tol, $"{name}: eval output");
        Assert.Null(compiled.FallbackReason);
        Assert.Empty(compiled.GraphBreaks);
    }

    [Theory]
    [MemberData(nameof(Nets))]
    public void Train_steps_and_eval_forward_are_bit_identical_across_thread_counts(string name) => ThreadCount.AssertInvariant(() =>
    {
        var model = Net(name, new Generator(5), out var shape);
        var compiled = model.Compile();
        var sgd = new Sgd(model.Parameters(), lr: 0.05f, momentum: 0.9f);
        int classes = model.Forward(Tensor.Zeros(shape)).Size(1);
        float[] losses = new float[2];
        for (int step = 0; step < 2; step++)
        {
            losses[step] = compiled.TrainStep(Tensor.Randn(new Generator((ulong)(10 + step)), shape), Labels(shape[0], classes));
            sgd.Step();
        }
        float[][] trained = [losses, .. model.Parameters().Select(p => p.ToArray()), .. model.NamedBuffers().Select(b => b.Value.ToArray())];
        model.Eval();
        using var _ = GradMode.NoGrad();
        var logits = compiled.Forward(Tensor.Randn(new Generator(20), shape));
        Assert.Null(compiled.FallbackReason);
        Assert.Empty(compiled.GraphBreaks);
        return [.. trained, logits.ToArray()];
    });

    public static TheoryData<int> Seeds => [.. Enumerable.Range(1, 12)];

    /// <summary>A random 1-D stack: convs of random kernel, stride, padding, dilation, groups, width and bias, batch norm,
    /// activations and 1-D pooling (also exported to ONNX by <c>OnnxCompiledPlanTests</c>).</summary>
    internal static Module Stack(int seed, out int[] inputShape)
    {
        var rng = new Random(seed);
        var g = new Generator((ulong)seed);
        int channels = rng.Next(3) switch { 0 => 1, 1 => 2, _ => 4 }, length = 40 + rng.Next(20);
        inputShape = [3 + rng.Next(3), channels, length];
        var layers = new List<Module>();
        int blocks = 2 + rng.Next(3);
        for (int b = 0; b < blocks; b++)
        {
            int width = rng.Next(3) switch { 0 => 4, 1 => 8, _ => 16 };
            int groups = channels % 2 == 0 && rng.Next(3) == 0 ? 2 : 1;
            int kernel = rng.Next(4) switch { 0 => 1, 1 => 3, 2 => 4, _ => 7 };
            int dilation = kernel > 1 && rng.Next(3) == 0 ? 2 : 1;
            if (dilation * (kernel - 1) + 1 > length) (kernel, dilation) = (1, 1);
            int stride = length >= 16 && rng.Next(3) == 0 ? 2 : 1;
            int padding = rng.Next(dilation * (kernel - 1) / 2 + 1);
            layers.Add(new Conv1d(channels, width, kernel, stride, padding, dilation, groups, bias: rng.Next(2) == 0, generator: g));
            length = (length + 2 * padding - dilation * (kernel - 1) - 1) / stride + 1;
            channels = width;
            if (rng.Next(3) != 0) layers.Add(new BatchNorm1d(width, momentum: rng.Next(4) == 0 ? null : 0.1f));
            layers.Add(rng.Next(4) switch { 0 => new Tanh(), 1 => new Sigmoid(), _ => new ReLU() });
            if (length >= 8 && rng.Next(2) == 0)
            {
                int k = 2 + rng.Next(2);
                layers.Add(rng.Next(2) == 0 ? new MaxPool1d(k, padding: rng.Next(k / 2 + 1)) : new AvgPool1d(k, stride: 2));
                length = layers[^1] is MaxPool1d m ? (length + 2 * m.Padding - k) / k + 1 : (length - k) / 2 + 1;
            }
        }
        layers.Add(new AdaptiveAvgPool1d(1 + rng.Next(2)));
        layers.Add(new Flatten());
        layers.Add(new Linear(channels * (((AdaptiveAvgPool1d)layers[^2]).OutputSize), 7, generator: g));
        return new Sequential([.. layers]);
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Random_1d_stack_trains_and_runs_like_the_eager_module(int seed) => RandomStackTests.AssertTrainsLikeEager(Stack, seed);
}
