using CnnSharp.Functional;
using CnnSharp.Modules;
using Xunit;

namespace CnnSharp.Tests.Compile;

/// <summary>
/// Property test: random module stacks (convolutions of random kernel, stride, padding and width, batch norm, activations,
/// pooling) train and run the same compiled as eager.
/// </summary>
/// <remarks>Gradients are compared by relative L2 error per tensor (with an absolute floor) rather than element by element: a ReLU or max-pool
/// input that lands within rounding of its kink may flip between the two paths and move a few elements by a lot, which
/// is float semantics, not a bug; a wrong kernel moves the whole tensor.</remarks>
public sealed class RandomStackTests
{
    public static TheoryData<int> Seeds => [.. Enumerable.Range(1, 16)];

    /// <summary>The random stack of <paramref name="seed"/> (also exported to ONNX by <c>OnnxCompiledPlanTests</c>).</summary>
    internal static Module Stack(int seed, out int[] inputShape)
    {
        var rng = new Random(seed);
        var g = new Generator((ulong)seed);
        int channels = rng.Next(2) == 0 ? 1 : 3, size = 12 + rng.Next(3) * 2;
        inputShape = [4, channels, size, size];
        var layers = new List<Module>();
        int blocks = 2 + rng.Next(3);
        for (int b = 0; b < blocks; b++)
        {
            int width = rng.Next(3) switch { 0 => 4, 1 => 16, _ => 32 };
            int kernel = Math.Min(size, rng.Next(3) switch { 0 => 1, 1 => 3, _ => 5 });
            int stride = size >= 8 && rng.Next(4) == 0 ? 2 : 1;
            int padding = rng.Next(kernel / 2 + 1);
            layers.Add(new Conv2d(channels, width, kernel, stride: stride, padding: padding, bias: rng.Next(2) == 0, generator: g));
            size = (size + 2 * padding - kernel) / stride + 1;
            channels = width;
            if (rng.Next(3) != 0) layers.Add(new BatchNorm2d(width, momentum: rng.Next(4) == 0 ? null : 0.1f));
            layers.Add(rng.Next(4) switch { 0 => new Tanh(), 1 => new Sigmoid(), _ => new ReLU() });
            if (size >= 4 && rng.Next(3) == 0)
            {
                layers.Add(rng.Next(2) == 0 ? new MaxPool2d(2) : new AvgPool2d(2));
                size /= 2;
            }
        }
        layers.Add(new AdaptiveAvgPool2d(1));
        layers.Add(new Flatten());
        layers.Add(new Linear(channels, 7, generator: g));
        return new Sequential([.. layers]);
    }

    private static double RelativeError(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual)
    {
        double diff = 0, norm = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            diff += Math.Pow(expected[i] - actual[i], 2);
            norm += Math.Pow(expected[i], 2);
        }
        // An absolute floor: a conv bias followed by batch norm has a gradient that is zero up to rounding on both paths.
        return Math.Sqrt(diff) / Math.Max(Math.Sqrt(norm), 1e-3);
    }

    private static double Norm(ReadOnlySpan<float> x)
    {
        double sum = 0;
        foreach (float v in x) sum += (double)v * v;
        return Math.Sqrt(sum);
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Random_stack_trains_and_runs_like_the_eager_module(int seed) => AssertTrainsLikeEager(Stack, seed);

    /// <summary>Two copies of <paramref name="stack"/>'s model for <paramref name="seed"/>, one eager and one compiled: two
    /// training steps' losses and gradients, the buffers after them and the eval output agree (relative L2 error), and the
    /// compiled model never falls back nor breaks the graph. Shared with <c>Conv1dCompileTests</c>' 1-D stacks.</summary>
    internal static void AssertTrainsLikeEager(StackFactory stack, int seed)
    {
        var eager = stack(seed, out var shape);
        var compiledModule = stack(seed, out int[] _);
        TestNets.CopyState(eager, compiledModule);
        var compiled = compiledModule.Compile(shape);
        Assert.Null(compiled.FallbackReason);
        Assert.Empty(compiled.GraphBreaks);
        int[] labels = [.. Enumerable.Range(0, shape[0]).Select(i => (i * 5 + seed) % 7)];
        for (int step = 0; step < 2; step++)
        {
            var x = Tensor.Randn(new Generator((ulong)(100 + seed * 10 + step)), shape);
            eager.ZeroGrad();
            var loss = F.CrossEntropy(eager.Forward(x), labels);
            loss.Backward();
            float compiledLoss = compiled.TrainStep(x, labels);
            Assert.True(Math.Abs(loss.Item() - compiledLoss) <= 1e-4 * Math.Max(1, Math.Abs(loss.Item())), $"loss {loss.Item()} vs {compiledLoss}");
            var cp = compiledModule.NamedParameters().ToDictionary(p => p.Key, p => p.Value);
            foreach (var (key, p) in eager.NamedParameters())
            {
                double error = RelativeError(p.Grad!.Data, cp[key].Grad!.Data);
                Assert.True(error < 2e-3, $"seed {seed} step {step}: grad {key} relative error {error:E2}, norm {Norm(p.Grad!.Data):E2}\n{compiled.Describe(shape)}");
            }
        }
        var cb = compiledModule.NamedBuffers().ToDictionary(b => b.Key, b => b.Value);
        foreach (var (key, b) in eager.NamedBuffers())
            Assert.True(RelativeError(b.Data, cb[key].Data) < 1e-4, $"seed {seed}: buffer {key}");

        eager.Eval();
        compiledModule.Eval();
        using var noGrad = CnnSharp.Autograd.GradMode.NoGrad();
        var probe = Tensor.Randn(new Generator((ulong)seed), shape);
        double outError = RelativeError(eager.Forward(probe).Data, compiled.Forward(probe).Data);
        Assert.True(outError < 1e-4, $"seed {seed}: eval output relative error {outError:E2}\n{compiled.Describe(shape)}");
        Assert.Null(compiled.FallbackReason);
        Assert.Empty(compiled.GraphBreaks);
    }

    /// <summary>Builds a random stack for a seed (<see cref="Stack"/>, or a 1-D one).</summary>
    internal delegate Module StackFactory(int seed, out int[] inputShape);
}
