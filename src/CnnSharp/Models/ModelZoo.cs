using CnnSharp.Modules;

namespace CnnSharp.Models;

/// <summary>Settings for <see cref="ModelZoo.Create"/>; a null property takes the model's default (<see cref="ZooModel"/>).</summary>
public sealed record ZooOptions
{
    /// <summary>Channels of the input images (1 grayscale, 3 RGB); null: the model's default.</summary>
    public int? InChannels { get; init; }

    /// <summary>Number of output classes; null: the model's default.</summary>
    public int? NumClasses { get; init; }

    /// <summary>
    /// Side of the square input images. It only decides whether the model accepts them: the fixed-input models
    /// (<c>convnet</c>, <c>lenet5</c>) take 28 only, the others any size from their minimum up. Null: the design size.
    /// </summary>
    public int? ImageSize { get; init; }

    /// <summary>Source of the initial weights; null uses <see cref="CnnSharp.Generator.Default"/>.</summary>
    public Generator? Generator { get; init; }
}

/// <summary>
/// One model of the zoo: its name, what it is, the input it is designed for and the option values it accepts.
/// </summary>
/// <param name="Name">The name used by <see cref="ModelZoo.Create"/> and the CLI (<c>resnet18</c>).</param>
/// <param name="Description">One line: the architecture and where its layout comes from.</param>
/// <param name="InChannels">Default input channels.</param>
/// <param name="NumClasses">Default number of classes.</param>
/// <param name="ImageSize">Design (default) side of the square input.</param>
/// <param name="MinImageSize">Smallest input side the model runs on.</param>
/// <param name="FixedInput">True when the input shape is part of the architecture (a flatten into a sized linear layer):
/// only <see cref="InChannels"/> x <see cref="ImageSize"/> x <see cref="ImageSize"/> is accepted.</param>
public sealed record ZooModel(string Name, string Description, int InChannels, int NumClasses, int ImageSize, int MinImageSize, bool FixedInput)
{
    /// <summary>The input shape of one image at the default settings, (C, H, W).</summary>
    public int[] InputShape => [InChannels, ImageSize, ImageSize];
}

/// <summary>
/// The model zoo: every built-in architecture by name, created with PyTorch-compatible state-dict keys, so weights
/// trained here or in PyTorch (safetensors or <c>.pt</c>) load into it. Names: <c>convnet</c>, <c>lenet5</c>,
/// <c>vgg-small</c>, <c>resnet8</c>, <c>resnet9</c>, <c>resnet20</c>, <c>resnet18</c>, <c>mobilenet-v2</c>.
/// </summary>
/// <example><code>
/// var model = ModelZoo.Create("resnet20", new ZooOptions { InChannels = 1, NumClasses = 10, Generator = new Generator(0) });
/// </code></example>
public static class ModelZoo
{
    private static readonly (ZooModel Model, Func<int, int, Generator?, Module> Create)[] s_models =
    [
        (new("convnet", "2 x (conv 5x5, batch norm, ReLU, max pool) + linear: the MNIST ConvNet of the PyTorch tutorial", 1, 10, 28, 28, true),
            (_, classes, g) => new ConvNet(classes, g)),
        (new("lenet5", "LeNet-5 (tanh, average pooling) for 28x28 grayscale images", 1, 10, 28, 28, true),
            (_, classes, g) => LeNet5.Create(classes, g)),
        (new("vgg-small", "5 conv-BN-ReLU layers, 2 max pools, global average pool, linear (torchvision VGG names)", 3, 10, 32, 4, false),
            (channels, classes, g) => new VggSmall(classes, g, channels)),
        (new("resnet8", "CIFAR-style ResNet-8: 3 stages x 1 BasicBlock, 16/32/64 channels", 3, 10, 32, 1, false),
            (channels, classes, g) => new ResNet8(classes, g, channels)),
        (new("resnet9", "ResNet-9 (DAWNBench/Myrtle layout): conv + max-pool stages with BasicBlocks after the first and last, 16..128 channels", 1, 10, 28, 8, false),
            (channels, classes, g) => new ResNet9(classes, g, channels)),
        (new("resnet20", "CIFAR-style ResNet-20: 3 stages x 3 BasicBlocks, 16/32/64 channels, 1x1 projection shortcuts", 3, 10, 32, 1, false),
            (channels, classes, g) => new ResNet20(classes, g, channels)),
        (new("resnet18", "torchvision's ResNet-18 (7x7 stem, max pool, 4 stages x 2 BasicBlocks, 64..512 channels)", 3, 1000, 224, 1, false),
            (channels, classes, g) => ResNet.ResNet18(classes, channels, generator: g)),
        (new("mobilenet-v2", "torchvision's MobileNetV2 (inverted residuals, depthwise convolutions, ReLU6), width 1.0", 3, 1000, 224, 1, false),
            (channels, classes, g) => new MobileNetV2(classes, channels, generator: g)),
    ];

    /// <summary>The models, in the order above.</summary>
    public static IReadOnlyList<ZooModel> Models { get; } = [.. s_models.Select(m => m.Model)];

    /// <summary>The names, in the order of <see cref="Models"/>.</summary>
    public static IReadOnlyList<string> Names { get; } = [.. Models.Select(m => m.Name)];

    /// <summary>The description of model <paramref name="name"/> (case-insensitive).</summary>
    /// <exception cref="ArgumentException">No model has that name (the message lists the names).</exception>
    public static ZooModel Get(string name) => s_models[IndexOf(name)].Model;

    /// <summary>Builds model <paramref name="name"/> (case-insensitive) with <paramref name="options"/>.</summary>
    /// <param name="name">One of <see cref="Names"/>.</param>
    /// <param name="options">Input channels, classes, image size and generator; null: all defaults.</param>
    /// <returns>A new model in training mode; its input is (N, channels, size, size), its output (N, classes) logits.</returns>
    /// <exception cref="ArgumentException">The name is unknown, or an option is out of range or not accepted by the model
    /// (a fixed-input model with another channel count or size, a size below the model's minimum); the message names it.</exception>
    public static Module Create(string name, ZooOptions? options = null)
    {
        var (model, create) = s_models[IndexOf(name)];
        options ??= new ZooOptions();
        int channels = options.InChannels ?? model.InChannels;
        int classes = options.NumClasses ?? model.NumClasses;
        int size = options.ImageSize ?? model.ImageSize;
        if (channels <= 0) throw new ArgumentException($"{model.Name}: in_channels must be positive, got {channels}", nameof(options));
        if (classes <= 0) throw new ArgumentException($"{model.Name}: num_classes must be positive, got {classes}", nameof(options));
        if (model.FixedInput && (channels != model.InChannels || size != model.ImageSize))
            throw new ArgumentException(
                $"{model.Name}: takes {model.InChannels}x{model.ImageSize}x{model.ImageSize} images only (its linear layer is sized for them), " +
                $"got in_channels {channels} and image size {size}", nameof(options));
        if (size < model.MinImageSize)
            throw new ArgumentException($"{model.Name}: image size must be at least {model.MinImageSize}, got {size}", nameof(options));
        return create(channels, classes, options.Generator);
    }

    private static int IndexOf(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        int index = Array.FindIndex(s_models, m => string.Equals(m.Model.Name, name, StringComparison.OrdinalIgnoreCase));
        return index >= 0 ? index
            : throw new ArgumentException($"unknown model '{name}'; the zoo has: {string.Join(", ", Names)}", nameof(name));
    }
}
