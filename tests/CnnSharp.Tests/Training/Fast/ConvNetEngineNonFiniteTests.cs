using CnnSharp.Kernels;
using CnnSharp.Models;
using CnnSharp.Training.Fast;

namespace CnnSharp.Tests.Training.Fast;

/// <summary>
/// A diverged model must show in the fused engine's loss: ReLU and max-pool drop NaN, so without a check the loss of a
/// ConvNet with NaN convolution weights or NaN batch statistics comes out finite (the logits reduce to the fc bias).
/// </summary>
public sealed class ConvNetEngineNonFiniteTests
{
    public static TheoryData<string, float, int> Cases()
    {
        var d = new TheoryData<string, float, int>();
        foreach (IsaLevel path in Enum.GetValues<IsaLevel>())
        {
            d.Add("layer1.0.weight", float.NaN, (int)path);
            d.Add("layer1.1.weight", float.NaN, (int)path);
            d.Add("layer2.0.weight", float.PositiveInfinity, (int)path);
            d.Add("layer2.1.bias", float.NaN, (int)path);
            d.Add("fc.weight", float.NegativeInfinity, (int)path);
        }
        return d;
    }

    [Theory, MemberData(nameof(Cases))]
    public void A_non_finite_parameter_gives_a_NaN_loss(string key, float value, int pathIndex)
    {
        var model = new ConvNet(generator: new Generator(3));
        var state = model.StateDict();
        var engine = new ConvNetEngine(state, 1e-5f, 0.1f, (IsaLevel)pathIndex);
        var (images, labels) = Batch(4);
        Assert.True(float.IsFinite(engine.TrainStep(images, labels)));

        state.Single(e => e.Key == key).Value.Data[7] = value;

        Assert.True(float.IsNaN(engine.TrainStep(images, labels)), $"{key} = {value}");
    }

    [Theory, MemberData(nameof(Paths))]
    public void Non_finite_pixels_give_a_NaN_loss(int pathIndex)
    {
        var engine = new ConvNetEngine(new ConvNet(generator: new Generator(3)).StateDict(), 1e-5f, 0.1f, (IsaLevel)pathIndex);
        var (images, labels) = Batch(4);
        images.Data[100] = float.PositiveInfinity;

        Assert.True(float.IsNaN(engine.TrainStep(images, labels)));
    }

    public static TheoryData<int> Paths() => [.. Enum.GetValues<IsaLevel>().Select(p => (int)p)];

    private static (Tensor Images, int[] Labels) Batch(int n)
    {
        var rng = new Random(5);
        var images = new float[n * 784];
        for (int i = 0; i < images.Length; i++) images[i] = (float)rng.NextDouble();
        return (Tensor.FromArray(images, n, 1, 28, 28), Enumerable.Range(0, n).Select(i => i % 10).ToArray());
    }
}
