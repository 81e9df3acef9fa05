using CnnSharp.Functional;
using CnnSharp.IO;
using CnnSharp.Models;
using CnnSharp.Optimizers;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Optimizers;

/// <summary>AdamW and RmsProp state goes through checkpoints like Adam's and Sgd's, and a resumed run continues identically.</summary>
public sealed class OptimizerCheckpointTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static void Step(ConvNet model, Optimizer opt, int seed)
    {
        var g = new Generator((ulong)seed);
        var x = Tensor.Rand(g, 4, 1, 28, 28);
        int[] y = [.. Enumerable.Range(0, 4).Select(_ => g.NextInt(10))];
        opt.ZeroGrad();
        F.CrossEntropy(model.Forward(x), y).Backward();
        opt.Step();
    }

    public static TheoryData<string> Kinds => ["adamw", "rmsprop"];

    private static Optimizer Create(string kind, ConvNet model) => kind == "adamw"
        ? new AdamW(model.Parameters(), lr: 0.01f, amsgrad: true)
        : new RmsProp(model.Parameters(), lr: 0.001f, momentum: 0.9f, centered: true);

    [Theory, MemberData(nameof(Kinds))]
    public void Resuming_from_a_checkpoint_continues_the_same_run(string kind)
    {
        var model = new ConvNet(generator: new Generator(1));
        var opt = Create(kind, model);
        Step(model, opt, 0);
        string path = Path.Combine(_dir.Path, $"{kind}.safetensors");
        Checkpoint.Save(path, model, opt, epoch: 1);
        Assert.Contains(opt.StateDict(), e => e.Key == (kind == "adamw" ? "state.0.max_exp_avg_sq" : "state.0.grad_avg"));

        var model2 = new ConvNet(generator: new Generator(7));
        var opt2 = Create(kind, model2);
        Checkpoint.Load(path, model2, opt2);
        Step(model, opt, 1);
        Step(model2, opt2, 1);
        foreach (var ((key, a), (_, b)) in model.StateDict().Zip(model2.StateDict()))
            Assert.True(a.ToArray().SequenceEqual(b.ToArray()), $"{kind}: {key} differs after resuming");
    }

    [Fact]
    public void Adam_state_is_not_loaded_into_AdamW()
    {
        var model = new ConvNet(generator: new Generator(1));
        var adam = new Adam(model.Parameters());
        Step(model, adam, 0);
        string path = Path.Combine(_dir.Path, "adam.safetensors");
        Checkpoint.Save(path, model, adam, epoch: 1);
        var ex = Assert.Throws<OptimizerMismatchException>(() => Checkpoint.Load(path, new ConvNet(), new AdamW(new ConvNet().Parameters())));
        Assert.Equal("Adam", ex.SavedOptimizer);
        Assert.Equal("AdamW", ex.RequestedOptimizer);
    }

    [Fact]
    public void Decoupled_weight_decay_shrinks_weights_without_a_gradient_term()
    {
        // With a zero gradient Adam's L2 term still moves p (through m and v); AdamW only scales p by 1 - lr * wd.
        var p = Tensor.FromArray([1f, -2f], 2).RequiresGrad_();
        p.Grad = Tensor.Zeros(2);
        new AdamW([p], lr: 0.1f, weightDecay: 0.5f).Step();
        Assert.Equal([0.95f, -1.9f], p.ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => new RmsProp([p], alpha: 1.5f));
        Assert.Throws<ArgumentOutOfRangeException>(() => new AdamW([p], weightDecay: -1f));
    }
}
