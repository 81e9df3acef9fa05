using CnnSharp.Functional;
using CnnSharp.Modules;

namespace CnnSharp.Models;

/// <summary>
/// MobileNetV2 (Sandler et al. 2018) exactly as torchvision 0.14's <c>mobilenet_v2</c> lays it out and names it, so its
/// <c>state_dict()</c> loads key for key: a strided 3x3 stem, 17 <see cref="InvertedResidual"/> blocks, a 1x1
/// convolution to 1280 channels, global average pooling, dropout and a linear classifier. 3,504,872 parameters with
/// 1000 classes and width 1.0.
/// </summary>
/// <remarks>
/// <code>
/// features = Sequential(
///   0  Sequential(Conv2d(in, 32, 3, stride 2, padding 1, bias false), BatchNorm2d(32), ReLU6)   (N,in,224,224) -> (N,32,112,112)
///   1..17 InvertedResidual blocks, settings (expand t, channels c, repeats n, first stride s):
///         (1,16,1,1) (6,24,2,2) (6,32,3,2) (6,64,4,2) (6,96,3,1) (6,160,3,2) (6,320,1,1)       -> (N,320,7,7)
///   18 Sequential(Conv2d(320, 1280, 1, bias false), BatchNorm2d(1280), ReLU6))                -> (N,1280,7,7)
/// adaptive average pooling to 1x1, flatten                                                     -> (N,1280)
/// classifier = Sequential(0 Dropout(0.2), 1 Linear(1280, numClasses))                          -> (N,numClasses)
/// </code>
/// <para>A width multiplier scales every channel count and rounds it to a multiple of 8 as torchvision's
/// <c>_make_divisible</c> does (never below 8, never more than 10% down); the last 1280 channels only grow
/// (width above 1). State-dict keys: <c>features.0.0.weight</c>, <c>features.0.1.*</c>, <c>features.1.conv.0.0.weight</c>,
/// ..., <c>features.18.0.weight</c>, <c>features.18.1.*</c>, <c>classifier.1.weight</c>, <c>classifier.1.bias</c>.</para>
/// <para>Initialisation follows torchvision: convolutions Kaiming-normal with fan-out, biases 0, batch norms weight 1
/// and bias 0, the classifier N(0, 0.01²) with bias 0. Any input of at least 1x1 works; 224x224 is the design size
/// (32x32 gives a 1x1 feature map).</para>
/// </remarks>
public sealed class MobileNetV2 : Module
{
    private static readonly (int T, int C, int N, int S)[] s_settings =
        [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)];

    /// <summary>Builds the network with torchvision's initialisation drawn from <paramref name="generator"/>.</summary>
    /// <param name="numClasses">Number of output classes (1000 for ImageNet).</param>
    /// <param name="inChannels">Channels of the input images (3 for RGB).</param>
    /// <param name="widthMult">Channel multiplier (torchvision's <c>width_mult</c>, 1.0 by default).</param>
    /// <param name="dropout">Dropout probability before the classifier (torchvision: 0.2).</param>
    /// <param name="generator">Source of the initial weights and of the dropout masks; null uses <see cref="Generator.Default"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException">A count is not positive, <paramref name="widthMult"/> is not a positive
    /// finite number, or <paramref name="dropout"/> is outside [0, 1].</exception>
    public MobileNetV2(int numClasses = 1000, int inChannels = 3, float widthMult = 1.0f, float dropout = 0.2f, Generator? generator = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(numClasses);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(inChannels);
        if (!(widthMult > 0f && float.IsFinite(widthMult)))
            throw new ArgumentOutOfRangeException(nameof(widthMult), widthMult, "MobileNetV2: width multiplier must be a positive finite number");
        NumClasses = numClasses;
        InChannels = inChannels;
        WidthMult = widthMult;
        int channels = MakeDivisible(32 * (double)widthMult);
        LastChannels = MakeDivisible(1280 * Math.Max(1.0, widthMult));
        var features = new Sequential(InvertedResidual.ConvBnReLU6(inChannels, channels, 3, 2, 1, generator));
        foreach (var (t, c, n, s) in s_settings)
        {
            int output = MakeDivisible(c * (double)widthMult);
            for (int i = 0; i < n; i++)
            {
                features.Append(new InvertedResidual(channels, output, i == 0 ? s : 1, t, generator));
                channels = output;
            }
        }
        features.Append(InvertedResidual.ConvBnReLU6(channels, LastChannels, 1, 1, 1, generator));
        Features = RegisterModule("features", features);
        Classifier = RegisterModule("classifier", new Sequential(new Dropout(dropout, generator), new Linear(LastChannels, numClasses, generator: generator)));

        foreach (var module in NamedModules().Select(m => m.Value))
        {
            if (module is Conv2d conv)
            {
                Init.KaimingNormal(conv.Weight, mode: FanMode.FanOut, generator: generator);
                if (conv.Bias is not null) Init.Zeros(conv.Bias);
            }
            else if (module is Linear linear)
            {
                Init.Normal(linear.Weight, 0.0, 0.01, generator);
                if (linear.Bias is not null) Init.Zeros(linear.Bias);
            }
        }
    }

    /// <summary>Number of output classes.</summary>
    public int NumClasses { get; }

    /// <summary>Channels of the input images.</summary>
    public int InChannels { get; }

    /// <summary>The channel multiplier.</summary>
    public float WidthMult { get; }

    /// <summary>Channels of the last feature map (1280 for widths up to 1).</summary>
    public int LastChannels { get; }

    /// <summary>The stem, the 17 inverted residual blocks and the final 1x1 convolution (indices 0 to 18).</summary>
    public Sequential Features { get; }

    /// <summary>Dropout (index 0) and the linear classifier (index 1).</summary>
    public Sequential Classifier { get; }

    /// <summary>Logits for a batch of images.</summary>
    /// <param name="input">Images, shape (N, <see cref="InChannels"/>, H, W) (224x224 by design).</param>
    /// <returns>Logits, shape (N, <see cref="NumClasses"/>).</returns>
    /// <exception cref="ShapeException">The input is not (N, <see cref="InChannels"/>, H, W).</exception>
    public override Tensor Forward(Tensor input)
    {
        ModelInput.RequireImages(nameof(MobileNetV2), input, InChannels);
        var output = F.AdaptiveAvgPool2d(Features.Call(input), 1);
        return Classifier.Call(F.Flatten(output, startDim: 1));
    }

    /// <summary>
    /// torchvision's <c>_make_divisible(v, 8)</c>: <paramref name="value"/> rounded to the nearest multiple of 8 (halves
    /// up), at least 8, and raised by 8 when rounding lost more than 10%.
    /// </summary>
    internal static int MakeDivisible(double value)
    {
        const int Divisor = 8;
        int rounded = Math.Max(Divisor, (int)(value + Divisor / 2.0) / Divisor * Divisor);
        return rounded < 0.9 * value ? rounded + Divisor : rounded;
    }
}
