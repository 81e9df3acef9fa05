using CnnSharp.Autograd;
using CnnSharp.Models;
using CnnSharp.Optimizers;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Compile;

/// <summary>
/// The four models of the compiled executor's benchmark (bench/compare-models.sh: the seed ConvNet, LeNet-5, VGG-small,
/// ResNet-8), zoo-built: two optimised training steps and an evaluation forward at batch give the same bits with 1, 2
/// and 3 threads. CompiledModelTests covers VGG-small and ResNet-8's single step; this adds the two small models and
/// the eval plan (folded batch norm) of all four.
/// </summary>
public sealed class IssueModelThreadInvarianceTests
{
    public static TheoryData<string> Models => new() { "convnet", "lenet5", "vgg-small", "resnet8" };

    [Theory]
    [MemberData(nameof(Models))]
    public void Train_steps_and_eval_forward_are_bit_identical_across_thread_counts(string name) => ThreadCount.AssertInvariant(() =>
    {
        var model = ModelZoo.Create(name, new ZooOptions { NumClasses = 10, Generator = new Generator(5) });
        int[] shape = [9, .. ModelZoo.Get(name).InputShape];
        int[] labels = [.. Enumerable.Range(0, shape[0]).Select(i => (i * 7 + 1) % 10)];
        var compiled = model.Compile();
        var sgd = new Sgd(model.Parameters(), lr: 0.05f, momentum: 0.9f);
        float[] losses = new float[2];
        for (int step = 0; step < 2; step++)
        {
            losses[step] = compiled.TrainStep(Tensor.Randn(new Generator((ulong)(10 + step)), shape), labels);
            sgd.Step();
        }
        float[][] trained = [losses, .. model.Parameters().Select(p => p.ToArray()), .. model.NamedBuffers().Select(b => b.Value.ToArray())];
        model.Eval();
        using var _ = GradMode.NoGrad();
        var logits = compiled.Forward(Tensor.Randn(new Generator(20), shape));
        Assert.Null(compiled.FallbackReason);
        return [.. trained, logits.ToArray()];
    });
}
