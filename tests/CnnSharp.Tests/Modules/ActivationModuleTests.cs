using CnnSharp.Functional;
using CnnSharp.Modules;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Modules;

public sealed class ActivationModuleTests
{
    private static Tensor Input() => Tensor.FromArray(GradCheck.DistinctValues(2 * 3 * 4, 1).Select(v => v * 4).ToArray(), 2, 3, 4);

    [Fact]
    public void Modules_forward_to_functional_ops()
    {
        var x = Input();
        Assert.Equal(F.Relu(x).ToArray(), new ReLU().Forward(x).ToArray());
        Assert.Equal(F.Relu6(x).ToArray(), new ReLU6().Forward(x).ToArray());
        Assert.Equal(F.LeakyRelu(x, 0.2f).ToArray(), new LeakyReLU(0.2f).Forward(x).ToArray());
        Assert.Equal(F.Sigmoid(x).ToArray(), new Sigmoid().Forward(x).ToArray());
        Assert.Equal(F.Tanh(x).ToArray(), new Tanh().Forward(x).ToArray());
        Assert.Equal(F.Softmax(x, 1).ToArray(), new Softmax(1).Forward(x).ToArray());
        Assert.Equal(F.LogSoftmax(x, -1).ToArray(), new LogSoftmax(-1).Forward(x).ToArray());
        Assert.Same(x, new Identity().Forward(x));
    }

    [Fact]
    public void Flatten_module_keeps_the_batch_dimension_by_default()
    {
        var x = Tensor.Zeros(4, 32, 7, 7);
        TensorAssert.ShapeIs(new Flatten().Forward(x), 4, 1568);
        TensorAssert.ShapeIs(new Flatten(0).Forward(x), 4 * 1568);
        TensorAssert.ShapeIs(new Flatten(2, 3).Forward(x), 4, 32, 49);
    }

    [Fact]
    public void Dropout_module_follows_training_flag()
    {
        var x = Tensor.FromArray(GradCheck.RandomValues(1000, 3, 1f, 2f), 1000);
        var drop = new Dropout(0.5f, new Generator(5));
        var y = drop.Forward(x);
        Assert.Contains(0f, y.ToArray());
        drop.Eval();
        Assert.Same(x, drop.Forward(x));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Dropout(1.5f));
    }

    [Fact]
    public void Dropout_module_with_seeded_generators_is_reproducible()
    {
        var x = Tensor.FromArray(GradCheck.RandomValues(100, 3, 1f, 2f), 100);
        Assert.Equal(new Dropout(0.3f, new Generator(11)).Forward(x).ToArray(), new Dropout(0.3f, new Generator(11)).Forward(x).ToArray());
    }

    [Fact]
    public void Repr_matches_pytorch()
    {
        Assert.Equal("ReLU()", new ReLU().ToString());
        Assert.Equal("LeakyReLU(negative_slope=0.01)", new LeakyReLU().ToString());
        Assert.Equal("Softmax(dim=1)", new Softmax(1).ToString());
        Assert.Equal("LogSoftmax(dim=-1)", new LogSoftmax(-1).ToString());
        Assert.Equal("Dropout(p=0.5, inplace=False)", new Dropout().ToString());
        Assert.Equal("Flatten(start_dim=1, end_dim=-1)", new Flatten().ToString());
        Assert.Equal("Identity()", new Identity().ToString());
        Assert.Equal("Sigmoid()", new Sigmoid().ToString());
        Assert.Equal("Tanh()", new Tanh().ToString());
    }

    [Fact]
    public void Sequential_of_my_layers_runs_and_backpropagates()
    {
        var net = new Sequential(new BatchNorm2d(2), new ReLU(), new MaxPool2d(2), new Flatten(), new Dropout(0.1f, new Generator(1)), new LogSoftmax(1));
        var x = Tensor.FromArray(GradCheck.RandomValues(3 * 2 * 4 * 4, 2), 3, 2, 4, 4).RequiresGrad_();
        var y = net.Forward(x);
        TensorAssert.ShapeIs(y, 3, 8);
        F.Sum(y).Backward();
        Assert.NotNull(x.Grad);
        Assert.Equal("Sequential(\n  (0): BatchNorm2d(2, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n  (1): ReLU()\n  (2): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)\n  (3): Flatten(start_dim=1, end_dim=-1)\n  (4): Dropout(p=0.1, inplace=False)\n  (5): LogSoftmax(dim=1)\n)", net.ToString());
    }
}
