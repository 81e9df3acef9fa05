using CnnSharp.Autograd;
using CnnSharp.Functional;
using CnnSharp.Kernels;
using CnnSharp.Kernels.Direct;
using CnnSharp.Modules;
using CnnSharp.Training.Fast;

namespace CnnSharp.Tests.Training.Fast;

/// <summary>
/// The fused engine against the generic autograd modules (Conv2d, BatchNorm2d, ReLU, MaxPool2d, Linear, log-softmax
/// cross-entropy) with identical parameters and batch; and its steady state: no managed allocation, thread-count
/// independence.
/// </summary>
/// <remarks>Both sides compute in float32 with different summation orders: each tensor must agree within 1e-4 of its largest magnitude.</remarks>
public sealed class ConvNetEngineGenericTests
{
    /// <summary>The seed's network built from the library's generic modules, with PyTorch's child names.</summary>
    private sealed class SeedNet : Module
    {
        public SeedNet(Generator g)
        {
            RegisterModule("layer1", new Sequential(new Conv2d(1, 16, 5, padding: 2, generator: g), new BatchNorm2d(16), new ReLU(), new MaxPool2d(2)));
            RegisterModule("layer2", new Sequential(new Conv2d(16, 32, 5, padding: 2, generator: g), new BatchNorm2d(32), new ReLU(), new MaxPool2d(2)));
            RegisterModule("fc", new Linear(7 * 7 * 32, 10, generator: g));
        }

        public override Tensor Forward(Tensor input)
        {
            var children = NamedChildren().Select(c => c.Value).ToArray();
            var x = children[1].Forward(children[0].Forward(input));
            return children[2].Forward(x.Reshape(x.Shape[0], -1));
        }
    }

    private static Tensor CrossEntropy(Tensor logits, int[] labels)
    {
        var oneHot = Tensor.Zeros(labels.Length, 10);
        for (int i = 0; i < labels.Length; i++) oneHot[i, labels[i]] = 1f;
        return F.Sum(F.LogSoftmax(logits, 1) * oneHot) * (-1f / labels.Length);
    }

    private static List<KeyValuePair<string, Tensor>> CloneState(Module m) =>
        m.StateDict().Select(e => new KeyValuePair<string, Tensor>(e.Key, e.Value.Clone())).ToList();

    [Fact]
    public void TrainStep_matches_generic_autograd_model()
    {
        var model = new SeedNet(new Generator(7));
        var state = CloneState(model);
        var (images, labels) = ConvNetEngineTests.Batch(new Random(3), 4, 28, 10);
        var x = Tensor.FromArray(images, 4, 1, 28, 28);

        var loss = CrossEntropy(model.Forward(x), labels);
        loss.Backward();
        var engine = new ConvNetEngine(state);
        float fast = engine.TrainStep(x, labels);

        Assert.True(Math.Abs(fast - loss.Item()) <= 1e-5 * Math.Max(1, Math.Abs(loss.Item())), $"loss {fast} vs {loss.Item()}");
        var generic = model.StateDict().ToDictionary(e => e.Key, e => e.Value);
        foreach (var (key, t) in state)
        {
            var g = generic[key];
            if (key.EndsWith("num_batches_tracked", StringComparison.Ordinal)) Assert.Equal(g.Item(), t.Item());
            else if (key.Contains("running", StringComparison.Ordinal)) Close(g.Data, t.Data, key);
            else if (key.EndsWith(".0.bias", StringComparison.Ordinal))
                Assert.True(MaxAbs(t.Grad!.Data) <= 1e-3 * MaxAbs(generic[key.Replace(".0.", ".1.", StringComparison.Ordinal)].Grad!.Data), key);
            else Close(g.Grad!.Data, t.Grad!.Data, key + " grad");
        }
    }

    [Fact]
    public void Predictor_matches_generic_model_in_eval_mode_after_a_training_step()
    {
        var model = new SeedNet(new Generator(11));
        var (images, labels) = ConvNetEngineTests.Batch(new Random(5), 6, 28, 10);
        var x = Tensor.FromArray(images, 6, 1, 28, 28);
        new ConvNetEngine(model.StateDict()).TrainStep(x, labels); // non-trivial running statistics
        model.Eval();
        Tensor want;
        using (GradMode.NoGrad()) want = model.Forward(x);
        var got = new ConvNetPredictor(model.StateDict()).Predict(x);
        Close(want.Data, got.Data, "eval logits");
    }

    [Fact]
    public void Steady_state_steps_allocate_nothing_and_thread_counts_agree_bit_for_bit()
    {
        var state = ConvNetEngineTests.StateDict(ConvNetEngineTests.Build(new Random(9), 16, 32, 5, 5, 28, 10));
        var copies = Enumerable.Range(0, 2).Select(_ => state.Select(e => new KeyValuePair<string, Tensor>(e.Key, e.Value.Clone())).ToList()).ToArray();
        var copy = copies[0];
        // 23 images = 5 chunks of 4-5 images: more chunks than threads, and a count the threads cannot split evenly.
        const int n = 23;
        var (images, labels) = ConvNetEngineTests.Batch(new Random(4), n, 28, 10);
        var x = Tensor.FromArray(images, n, 1, 28, 28);
        var one = new ConvNetEngine(state, 1e-5f, 0.1f, Isa.Level) { ThreadsOverride = 1 };
        var two = new ConvNetEngine(copy, 1e-5f, 0.1f, Isa.Level) { ThreadsOverride = 2 };
        var three = new ConvNetEngine(copies[1], 1e-5f, 0.1f, Isa.Level) { ThreadsOverride = 3 };
        for (int step = 0; step < 3; step++)
        {
            float l1 = one.TrainStep(x, labels), l2 = two.TrainStep(x, labels), l3 = three.TrainStep(x, labels);
            Assert.Equal(l1, l2);
            Assert.Equal(l1, l3);
            // Gradients, running statistics and batch counts: chunks own the accumulators, so the thread count cannot change a bit.
            for (int i = 0; i < state.Count; i++)
            {
                var a = state[i].Value.Grad ?? state[i].Value;
                Assert.Equal(a.Data.ToArray(), (copy[i].Value.Grad ?? copy[i].Value).Data.ToArray());
                Assert.Equal(a.Data.ToArray(), (copies[1][i].Value.Grad ?? copies[1][i].Value).Data.ToArray());
            }
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 3; i++) two.TrainStep(x, labels);
        long perStep = (GC.GetAllocatedBytesForCurrentThread() - before) / 3;
        Assert.True(perStep < 1024, $"{perStep} bytes per step");

        var predictor = new ConvNetPredictor(copy) { ThreadsOverride = 2 };
        var logits = new float[10 * n];
        predictor.Predict(images, n, logits);
        before = GC.GetAllocatedBytesForCurrentThread();
        predictor.Predict(images, n, logits);
        predictor.Predict(images.AsSpan(0, 784), 1, logits);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void Bad_inputs_throw_naming_the_problem()
    {
        var state = ConvNetEngineTests.StateDict(ConvNetEngineTests.Build(new Random(1), 16, 16, 3, 3, 8, 10));
        var engine = new ConvNetEngine(state);
        var e = Assert.Throws<ShapeException>(() => engine.TrainStep(Tensor.Zeros(2, 1, 9, 9), [0, 1]));
        Assert.Contains("(2, 1, 9, 9)", e.Message);
        Assert.Throws<ShapeException>(() => engine.TrainStep(Tensor.Zeros(2, 1, 8, 8), [0]));
        Assert.Throws<ArgumentOutOfRangeException>(() => engine.TrainStep(Tensor.Zeros(2, 1, 8, 8), [0, 10]));
        var bad = state.Where(s => s.Key != "fc.bias").ToList();
        var m = Assert.Throws<ArgumentException>(() => new ConvNetEngine(bad));
        Assert.Contains("fc.bias", m.Message);
        Assert.False(ConvNetEngine.Supports(bad));
        Assert.True(ConvNetEngine.Supports(state));
        var wrong = state.Select(s => s.Key == "layer2.0.weight" ? new KeyValuePair<string, Tensor>(s.Key, Tensor.Zeros(16, 8, 3, 3)) : s).ToList();
        Assert.Contains("layer2.0.weight", Assert.Throws<ArgumentException>(() => new ConvNetPredictor(wrong)).Message);
    }

    private static double MaxAbs(ReadOnlySpan<float> a)
    {
        double m = 0;
        foreach (float v in a) m = Math.Max(m, Math.Abs(v));
        return m;
    }

    private static void Close(ReadOnlySpan<float> want, ReadOnlySpan<float> got, string what)
    {
        Assert.Equal(want.Length, got.Length);
        double scale = MaxAbs(want), worst = 0;
        for (int i = 0; i < want.Length; i++) worst = Math.Max(worst, Math.Abs(want[i] - got[i]));
        Assert.True(worst <= 1e-4 * scale + 1e-12, $"{what}: max difference {worst:E3}, scale {scale:E3}");
    }
}
