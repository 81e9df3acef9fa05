using CnnSharp.Models;
using CnnSharp.Modules;

namespace CnnSharp.Tests.Modules;

public sealed class ModelSummaryTests
{
    [Fact]
    public void ResNet18_matches_torchinfo_parameters_shapes_and_mult_adds()
    {
        var model = ModelZoo.Create("resnet18", new ZooOptions { Generator = new Generator(0) });
        var summary = ModelSummary.Of(model, 1, 3, 224, 224);

        // torchinfo.summary(torchvision.models.resnet18(), (1, 3, 224, 224)): 11,689,512 params, 1.81 G mult-adds
        // (1,813,561,344 in the convolutions + 512,000 in fc; torchinfo 1.8 adds 10,600 for biases and batch norm).
        Assert.Equal(11_689_512, summary.TotalParameters);
        Assert.Equal(11_689_512, summary.TrainableParameters);
        Assert.Equal(1_814_073_344, summary.TotalMultAdds);
        var shapes = summary.Layers.ToDictionary(l => l.Name, l => l.OutputShape.ToArray());
        Assert.Equal([1, 64, 112, 112], shapes["conv1"]);
        Assert.Equal([1, 64, 56, 56], shapes["maxpool"]);
        Assert.Equal([1, 64, 56, 56], shapes["layer1"]);
        Assert.Equal([1, 128, 28, 28], shapes["layer2"]);
        Assert.Equal([1, 256, 14, 14], shapes["layer3"]);
        Assert.Equal([1, 512, 7, 7], shapes["layer4"]);
        Assert.Equal([1, 1000], shapes["fc"]);
        Assert.Equal([1, 1000], summary.Layers[0].OutputShape);
        Assert.Equal(("", "ResNet", 0), (summary.Layers[0].Name, summary.Layers[0].Type, summary.Layers[0].Depth));
        // torchinfo's per-layer values: conv1 118,013,952 mult-adds (9,408 weights x 112 x 112), layer1.0.conv1 36,864 params.
        var conv1 = summary.Layers.Single(l => l.Name == "conv1");
        Assert.Equal((9_408L, 118_013_952L, 1, true), (conv1.Parameters, conv1.MultAdds, conv1.Depth, conv1.IsLeaf));
        var inner = summary.Layers.Single(l => l.Name == "layer1.0.conv1");
        Assert.Equal((36_864L, 3), (inner.Parameters, inner.Depth));
        Assert.False(summary.Layers.Single(l => l.Name == "layer1").IsLeaf);
    }

    [Fact]
    public void Counts_conv_and_linear_weights_per_output_position_for_the_whole_batch()
    {
        var model = new Sequential(new Conv2d(2, 4, 3, bias: true), new BatchNorm2d(4), new Flatten(), new Linear(4 * 3 * 3, 5));
        var summary = ModelSummary.Of(model, 2, 2, 5, 5);
        // Biases and batch norm cost nothing; the conv's 72 weights run at 2 x 3 x 3 output positions.
        long conv = 4 * 2 * 3 * 3 * 2L * 3 * 3, bn = 0, linear = 36 * 5 * 2;
        Assert.Equal([conv, bn, 0, linear], summary.Layers.Skip(1).Select(l => l.MultAdds));
        Assert.Equal(conv + bn + linear, summary.TotalMultAdds);
        Assert.Equal(4 * 2 * 3 * 3 + 4 + 8 + 36 * 5 + 5, summary.TotalParameters);
        // Leaf outputs: conv (2,4,3,3), bn (2,4,3,3), flatten (2,36), linear (2,5).
        Assert.Equal(4L * (72 + 72 + 72 + 10), summary.ActivationBytes);
        Assert.Equal(4L * 2 * 2 * 5 * 5, summary.InputBytes);
        Assert.Equal(["", "0", "1", "2", "3"], summary.Layers.Select(l => l.Name));
    }

    [Fact]
    public void Transposed_convolution_counts_one_kernel_per_input_position_and_linear_per_output_row()
    {
        // ConvTranspose2d 3 -> 2, 4x4 kernel, stride 2: input 5x5 (25 positions), output 12x12.
        var summary = ModelSummary.Of(new Sequential(new ConvTranspose2d(3, 2, 4, stride: 2), new Linear(12, 7)), 1, 3, 5, 5);
        Assert.Equal([1, 2, 12, 12], summary.Layers[1].OutputShape);
        Assert.Equal(3L * 2 * 4 * 4 * 25, summary.Layers[1].MultAdds);
        // Linear on (1, 2, 12, 12): 24 rows of 12 features.
        Assert.Equal([1, 2, 12, 7], summary.Layers[2].OutputShape);
        Assert.Equal(12L * 7 * 24, summary.Layers[2].MultAdds);
    }

    [Fact]
    public void Restores_training_mode_and_leaves_no_observer_behind()
    {
        var model = new Sequential(new Linear(3, 2));
        ModelSummary.Of(model, 1, 3);
        Assert.True(model.Training);
        Assert.Throws<ShapeException>(() => ModelSummary.Of(model, 1, 4));
        Assert.True(model.Training);
        // A second summary works after the failed one: the observer was removed.
        Assert.Equal(2, ModelSummary.Of(model, 1, 3).Layers.Count);
    }

    [Theory]
    [InlineData(new int[0])]
    [InlineData(new[] { 1, 0, 3 })]
    [InlineData(new[] { 65536, 65536 })]
    public void Refuses_bad_input_shapes(int[] shape)
    {
        var ex = Assert.Throws<ArgumentException>(() => ModelSummary.Of(new Sequential(new Linear(3, 2)), shape));
        Assert.Contains("ModelSummary", ex.Message);
    }
}
