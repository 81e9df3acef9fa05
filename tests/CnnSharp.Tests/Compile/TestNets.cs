using CnnSharp.Functional;
using CnnSharp.Modules;

namespace CnnSharp.Tests.Compile;

/// <summary>Small networks for the compiled-path tests: a residual block with a custom forward, and builders.</summary>
internal static class TestNets
{
    /// <summary>torchvision-style BasicBlock: conv3x3-BN-ReLU-conv3x3-BN plus identity or 1x1 projection, then ReLU.</summary>
    public sealed class Block : Module
    {
        private readonly Conv2d _conv1, _conv2;
        private readonly BatchNorm2d _bn1, _bn2;
        private readonly Sequential? _down;

        public Block(int inC, int outC, int stride, Generator g)
        {
            _conv1 = RegisterModule("conv1", new Conv2d(inC, outC, 3, stride: stride, padding: 1, bias: false, generator: g));
            _bn1 = RegisterModule("bn1", new BatchNorm2d(outC));
            _conv2 = RegisterModule("conv2", new Conv2d(outC, outC, 3, padding: 1, bias: false, generator: g));
            _bn2 = RegisterModule("bn2", new BatchNorm2d(outC));
            if (stride != 1 || inC != outC)
                _down = RegisterModule("downsample", new Sequential(new Conv2d(inC, outC, 1, stride: stride, bias: false, generator: g), new BatchNorm2d(outC)));
        }

        public override Tensor Forward(Tensor input)
        {
            var y = F.Relu(_bn1.Forward(_conv1.Forward(input)));
            y = _bn2.Forward(_conv2.Forward(y));
            var identity = _down is null ? input : _down.Forward(input);
            return F.Relu(y + identity);
        }
    }

    public static Module ResNet(Generator g) => new Sequential(
        new Conv2d(3, 8, 3, padding: 1, bias: false, generator: g), new BatchNorm2d(8), new ReLU(),
        new Block(8, 8, 1, g), new Block(8, 16, 2, g),
        new AdaptiveAvgPool2d(1), new Flatten(), new Linear(16, 5, generator: g));

    /// <summary>VGG-style: one conv chain on the direct kernels, from the 3-channel (planar) stem to the 16->32 conv.</summary>
    public static Module Vgg(Generator g) => new Sequential(
        new Conv2d(3, 16, 3, padding: 1, generator: g), new BatchNorm2d(16), new ReLU(),
        new Conv2d(16, 16, 3, padding: 1, generator: g), new BatchNorm2d(16), new ReLU(),
        new MaxPool2d(2),
        new Conv2d(16, 32, 3, padding: 1, generator: g), new BatchNorm2d(32), new ReLU(),
        new AdaptiveAvgPool2d(1), new Flatten(), new Linear(32, 5, generator: g));

    /// <summary>
    /// MobileNet-style: depthwise 3x3 (multiplier 1, then 2 at stride 2), 1x1 pointwise, a 4-group 3x3 conv and a dilated
    /// 5x5 depthwise conv, with batch norm and ReLU: the grouped convolutions run on the direct grouped kernels.
    /// </summary>
    public static Module MobileNet(Generator g) => new Sequential(
        new Conv2d(3, 8, 3, stride: 2, padding: 1, bias: false, generator: g), new BatchNorm2d(8), new ReLU(),
        new Conv2d(8, 8, 3, padding: 1, groups: 8, bias: false, generator: g), new BatchNorm2d(8), new ReLU(),
        new Conv2d(8, 16, 1, bias: false, generator: g), new BatchNorm2d(16),
        new Conv2d(16, 32, 3, stride: 2, padding: 1, groups: 16, generator: g), new BatchNorm2d(32), new ReLU(),
        new Conv2d(32, 32, 3, padding: 1, groups: 4, generator: g), new ReLU(),
        new Conv2d(32, 32, 5, padding: 4, dilation: 2, groups: 32, generator: g), new BatchNorm2d(32), new ReLU(),
        new AdaptiveAvgPool2d(1), new Flatten(), new Linear(32, 5, generator: g));

    /// <summary>
    /// <paramref name="eager"/> after one training-mode forward of <paramref name="warmup"/> (non-trivial running statistics,
    /// so an eval epilogue's affine map is exercised), and <paramref name="twin"/> with that state, compiled; both in eval mode.
    /// </summary>
    public static CnnSharp.Compile.CompiledModel EvalTwin(Module eager, Module twin, Tensor warmup)
    {
        eager.Forward(warmup);
        CopyState(eager, twin);
        eager.Eval();
        twin.Eval();
        return twin.Compile();
    }

    /// <summary>A copy of <paramref name="source"/>'s state (parameters and buffers) into <paramref name="target"/>.</summary>
    public static void CopyState(Module source, Module target) =>
        target.LoadStateDict(new StateDict(source.StateDict().Select(e => KeyValuePair.Create(e.Key, e.Value.Clone()))));
}
