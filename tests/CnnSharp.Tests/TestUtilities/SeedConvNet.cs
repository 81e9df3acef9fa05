using CnnSharp.Modules;

namespace CnnSharp.Tests.TestUtilities;

/// <summary>
/// The seed's ConvNet, layer for layer and key for key (<c>layer1.0.weight</c> ... <c>fc.bias</c>), with the same
/// forward (reshape to (N, -1) before <c>fc</c>); stands in for <c>Models.ConvNet</c> in interop tests.
/// </summary>
internal sealed class SeedConvNet : Module
{
    public SeedConvNet(Generator? generator = null)
    {
        Layer1 = RegisterModule("layer1", new Sequential(new Conv2d(1, 16, 5, padding: 2, generator: generator), new BatchNorm2d(16), new ReLU(), new MaxPool2d(2, 2)));
        Layer2 = RegisterModule("layer2", new Sequential(new Conv2d(16, 32, 5, padding: 2, generator: generator), new BatchNorm2d(32), new ReLU(), new MaxPool2d(2, 2)));
        Fc = RegisterModule("fc", new Linear(7 * 7 * 32, 10, generator: generator));
    }

    public Sequential Layer1 { get; }
    public Sequential Layer2 { get; }
    public Linear Fc { get; }

    public override Tensor Forward(Tensor input)
    {
        var x = Layer2.Forward(Layer1.Forward(input));
        return Fc.Forward(x.Reshape(x.Shape[0], -1));
    }
}
