using CnnSharp.Autograd;
using CnnSharp.Functional;
using CnnSharp.Modules;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Compile;

/// <summary>
/// Every module type of CnnSharp.Modules inside a compiled model: it compiles (a compiled form, or an eager island as a
/// graph break) without falling back to running the whole model eagerly, and gives the eager module's
/// loss, gradients and evaluation output. A new module type fails <see cref="Every_module_type_has_a_case"/> until it is added here.
/// </summary>
public sealed class EveryModuleCompilesTests
{
    private static readonly Tolerance s_tol = new(2e-4, 2e-5);

    /// <summary>The module under test, the input it takes, and whether it draws random numbers in training mode.</summary>
    private static (Module Module, int[] Input, bool Random) Case(string type)
    {
        var g = new Generator(3);
        int[] image = [4, 4, 6, 6];
        return type switch
        {
            nameof(AdaptiveAvgPool1d) => (new AdaptiveAvgPool1d(3), [4, 3, 10], false),
            nameof(AdaptiveAvgPool2d) => (new AdaptiveAvgPool2d((2, 3)), image, false),
            nameof(AdaptiveMaxPool2d) => (new AdaptiveMaxPool2d(2), image, false),
            nameof(AvgPool1d) => (new AvgPool1d(3, stride: 2, padding: 1, countIncludePad: false), [4, 3, 10], false),
            nameof(AvgPool2d) => (new AvgPool2d(3, stride: 2, padding: 1, countIncludePad: false), image, false),
            nameof(BatchNorm1d) => (new BatchNorm1d(3), [4, 3, 10], false),
            nameof(BatchNorm2d) => (new BatchNorm2d(4), image, false),
            nameof(Conv1d) => (new Conv1d(3, 6, 3, stride: 2, padding: 1, dilation: 2, groups: 3, generator: g), [4, 3, 10], false),
            nameof(Conv2d) => (new Conv2d(4, 5, 3, stride: 2, padding: 1, generator: g), image, false),
            nameof(ConvTranspose2d) => (new ConvTranspose2d(4, 3, 3, stride: 2, padding: 1, outputPadding: 1, generator: g), image, false),
            nameof(Dropout) => (new Dropout(0.3f, new Generator(5)), image, true),
            nameof(Dropout2d) => (new Dropout2d(0.3f, new Generator(5)), image, true),
            nameof(Flatten) => (new Flatten(), image, false),
            nameof(GroupNorm) => (new GroupNorm(2, 4), image, false),
            nameof(Identity) => (new Identity(), image, false),
            nameof(LPPool2d) => (new LPPool2d(2, 2), image, false),
            nameof(LayerNorm) => (new LayerNorm([6, 6]), image, false),
            nameof(LeakyReLU) => (new LeakyReLU(0.2f), image, false),
            nameof(Linear) => (new Linear(7, 5, generator: g), [4, 7], false),
            nameof(LogSoftmax) => (new LogSoftmax(1), image, false),
            nameof(MaxPool1d) => (new MaxPool1d(3, stride: 2, padding: 1), [4, 3, 10], false),
            nameof(MaxPool2d) => (new MaxPool2d(2), image, false),
            nameof(ReLU) => (new ReLU(), image, false),
            nameof(ReLU6) => (new ReLU6(), image, false),
            nameof(Sequential) => (new Sequential(new Conv2d(4, 4, 1, generator: g), new Tanh()), image, false),
            nameof(Sigmoid) => (new Sigmoid(), image, false),
            nameof(Softmax) => (new Softmax(1), image, false),
            nameof(Tanh) => (new Tanh(), image, false),
            nameof(Upsample) => (new Upsample(2.0, InterpolationMode.Bilinear), image, false),
            _ => throw new ArgumentException($"no case for module type {type}", nameof(type)),
        };
    }

    private static IEnumerable<string> ModuleTypes() => typeof(Module).Assembly.GetTypes()
        .Where(t => t.Namespace == "CnnSharp.Modules" && t.IsPublic && !t.IsAbstract && t.IsSubclassOf(typeof(Module)))
        .Select(t => t.Name).Order(StringComparer.Ordinal);

    public static TheoryData<string> Types => [.. ModuleTypes()];

    [Fact]
    public void Every_module_type_has_a_case()
    {
        foreach (string type in ModuleTypes()) Assert.Equal(type, Case(type).Module.GetType().Name);
    }

    /// <summary>The module, then a flatten and a linear layer to 3 classes, so a compiled train step has logits to take.</summary>
    private static Sequential Model(Module module, int[] input)
    {
        int features;
        using (GradMode.NoGrad()) features = module.Forward(Tensor.Randn(new Generator(1), input)).Numel / input[0];
        module.Train();
        return new Sequential(module, new Flatten(), new Linear(features, 3, generator: new Generator(4)));
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void Compiles_without_falling_back_and_matches_the_eager_module(string type)
    {
        var (module, input, random) = Case(type);
        var model = Model(module, input);
        var compiled = model.Compile(input);
        Assert.Null(compiled.FallbackReason);
        int[] labels = [.. Enumerable.Range(0, input[0]).Select(i => i % 3)];
        var x = Tensor.Randn(new Generator(6), input);

        if (!random)
        {
            // Training mode: the eager loss and gradients, then the compiled step's (same weights; batch norms update
            // their running statistics twice, which the training-mode forward does not read).
            var loss = F.CrossEntropy(model.Forward(x), labels);
            loss.Backward();
            var eagerGrads = model.NamedParameters().ToDictionary(p => p.Key, p => p.Value.Grad!.ToArray());
            model.ZeroGrad();
            float compiledLoss = compiled.TrainStep(x, labels);
            Assert.Equal(loss.Item(), compiledLoss, 4);
            foreach (var (key, p) in model.NamedParameters())
                TensorAssert.Close(eagerGrads[key], p.Grad!.Data, s_tol, $"{type}: grad {key}");
        }
        else
        {
            Assert.True(float.IsFinite(compiled.TrainStep(x, labels)));
        }

        model.Eval();
        using var _ = GradMode.NoGrad();
        TensorAssert.Close(model.Forward(x).Data, compiled.Forward(x).Data, s_tol, $"{type}: eval output");
        Assert.Null(compiled.FallbackReason);
    }
}
