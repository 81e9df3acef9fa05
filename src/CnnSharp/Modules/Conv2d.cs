using CnnSharp.Functional;

namespace CnnSharp.Modules;

/// <summary>2-D convolution layer (PyTorch's <c>nn.Conv2d</c> with <c>padding_mode='zeros'</c>): <c>y = F.Conv2d(x, Weight, Bias, ...)</c>.</summary>
/// <remarks>
/// <para>Parameters: <c>weight</c> of shape (out, in/groups, KH, KW) and, unless <c>bias: false</c>, <c>bias</c> of shape (out),
/// initialised as in PyTorch (<see cref="Init.DefaultLayerInit"/>: U(−1/√fan_in, 1/√fan_in) for both, fan_in = in/groups·KH·KW).</para>
/// <para>Input (N, in, H, W) → output (N, out, OutH, OutW) with <c>OutH = floor((H + 2·pH − dH·(KH−1) − 1)/sH) + 1</c>
/// (likewise W). The tutorial's first layer is <c>new Conv2d(1, 16, kernelSize: 5, stride: 1, padding: 2)</c>.</para>
/// </remarks>
public sealed class Conv2d : Module
{
    /// <summary>Creates the layer with square kernel, stride, padding and dilation.</summary>
    /// <param name="inChannels">Input channels C.</param>
    /// <param name="outChannels">Output channels K.</param>
    /// <param name="kernelSize">Kernel height and width.</param>
    /// <param name="stride">Stride on both axes (≥ 1).</param>
    /// <param name="padding">Zero padding on every side (≥ 0).</param>
    /// <param name="dilation">Dilation on both axes (≥ 1).</param>
    /// <param name="groups">Channel groups; divides both channel counts.</param>
    /// <param name="bias">Whether to learn an additive bias.</param>
    /// <param name="generator">Random source for the initialisation (default <see cref="Generator.Default"/>).</param>
    /// <exception cref="ShapeException">A size is non-positive, the padding negative, or groups does not divide the channels.</exception>
    public Conv2d(int inChannels, int outChannels, int kernelSize, int stride = 1, int padding = 0, int dilation = 1,
        int groups = 1, bool bias = true, Generator? generator = null)
        : this(inChannels, outChannels, (kernelSize, kernelSize), (stride, stride), (padding, padding), (dilation, dilation), groups, bias, generator)
    {
    }

    /// <summary>Creates the layer with per-axis (height, width) kernel size, stride, padding and dilation.</summary>
    /// <param name="inChannels">Input channels C.</param>
    /// <param name="outChannels">Output channels K.</param>
    /// <param name="kernelSize">(KH, KW).</param>
    /// <param name="stride">(sH, sW); default (1, 1).</param>
    /// <param name="padding">(pH, pW); default (0, 0).</param>
    /// <param name="dilation">(dH, dW); default (1, 1).</param>
    /// <param name="groups">Channel groups; divides both channel counts.</param>
    /// <param name="bias">Whether to learn an additive bias.</param>
    /// <param name="generator">Random source for the initialisation (default <see cref="Generator.Default"/>).</param>
    /// <exception cref="ShapeException">A size is non-positive, the padding negative, or groups does not divide the channels.</exception>
    public Conv2d(int inChannels, int outChannels, (int H, int W) kernelSize, (int H, int W)? stride = null, (int H, int W)? padding = null,
        (int H, int W)? dilation = null, int groups = 1, bool bias = true, Generator? generator = null)
    {
        InChannels = inChannels;
        OutChannels = outChannels;
        KernelSize = kernelSize;
        Stride = stride ?? (1, 1);
        Padding = padding ?? (0, 0);
        Dilation = dilation ?? (1, 1);
        Groups = groups;
        string d = $"in_channels {inChannels}, out_channels {outChannels}, kernel_size {KernelSize}, stride {Stride}, padding {Padding}, dilation {Dilation}, groups {groups}";
        ConvSettings.Validate("Conv2d", inChannels, outChannels, groups, d,
            kernelSize.H > 0 && kernelSize.W > 0, Stride.H > 0 && Stride.W > 0, Padding.H >= 0 && Padding.W >= 0, Dilation.H > 0 && Dilation.W > 0);
        Weight = RegisterParameter("weight", Tensor.Zeros(outChannels, inChannels / groups, kernelSize.H, kernelSize.W));
        if (bias) Bias = RegisterParameter("bias", Tensor.Zeros(outChannels));
        Init.DefaultLayerInit(Weight, Bias, generator);
    }

    /// <summary>Input channels.</summary>
    public int InChannels { get; }
    /// <summary>Output channels.</summary>
    public int OutChannels { get; }
    /// <summary>(KH, KW).</summary>
    public (int H, int W) KernelSize { get; }
    /// <summary>(sH, sW).</summary>
    public (int H, int W) Stride { get; }
    /// <summary>(pH, pW), zeros added on both sides.</summary>
    public (int H, int W) Padding { get; }
    /// <summary>(dH, dW).</summary>
    public (int H, int W) Dilation { get; }
    /// <summary>Channel groups.</summary>
    public int Groups { get; }
    /// <summary>The kernel, shape (out, in/groups, KH, KW).</summary>
    public Tensor Weight { get; }
    /// <summary>The bias, shape (out), or null when created with <c>bias: false</c>.</summary>
    public Tensor? Bias { get; }

    /// <summary>Convolves <paramref name="input"/> (N, in, H, W) into (N, out, OutH, OutW).</summary>
    /// <exception cref="ShapeException">The input is not 4-D, has the wrong channel count, or is smaller than the dilated kernel after padding.</exception>
    public override Tensor Forward(Tensor input) => F.Conv2d(input, Weight, Bias, Stride, Padding, Dilation, Groups);

    /// <summary>PyTorch's repr, e.g. <c>1, 16, kernel_size=(5, 5), stride=(1, 1), padding=(2, 2)</c>.</summary>
    protected override string ExtraRepr() =>
        ConvSettings.Repr(InChannels, OutChannels, Pair(KernelSize), Pair(Stride), Padding != (0, 0) ? Pair(Padding) : null,
            Dilation != (1, 1) ? Pair(Dilation) : null, Groups, Bias is not null);

    private static string Pair((int H, int W) v) => $"({v.H}, {v.W})";
}

/// <summary>Validation and repr shared by the convolution layers.</summary>
internal static class ConvSettings
{
    public static void Validate(string op, int inChannels, int outChannels, int groups, string description,
        bool kernelOk, bool strideOk, bool paddingOk, bool dilationOk)
    {
        if (inChannels <= 0 || outChannels <= 0) throw new ShapeException($"{op}: channel counts must be positive ({description})");
        if (!kernelOk) throw new ShapeException($"{op}: kernel size must be positive ({description})");
        if (!strideOk) throw new ShapeException($"{op}: stride must be positive ({description})");
        if (!paddingOk) throw new ShapeException($"{op}: padding must be non-negative ({description})");
        if (!dilationOk) throw new ShapeException($"{op}: dilation must be positive ({description})");
        if (groups <= 0) throw new ShapeException($"{op}: groups must be positive ({description})");
        if (inChannels % groups != 0) throw new ShapeException($"{op}: in_channels must be divisible by groups ({description})");
        if (outChannels % groups != 0) throw new ShapeException($"{op}: out_channels must be divisible by groups ({description})");
    }

    /// <summary>PyTorch's <c>_ConvNd.extra_repr</c>: padding, dilation and output padding only when not default, groups when not 1, bias only when absent.</summary>
    public static string Repr(int inChannels, int outChannels, string kernel, string stride, string? padding, string? dilation, int groups, bool hasBias,
        string? outputPadding = null)
    {
        var s = $"{inChannels}, {outChannels}, kernel_size={kernel}, stride={stride}";
        if (padding is not null) s += $", padding={padding}";
        if (dilation is not null) s += $", dilation={dilation}";
        if (outputPadding is not null) s += $", output_padding={outputPadding}";
        if (groups != 1) s += $", groups={groups}";
        if (!hasBias) s += ", bias=False";
        return s;
    }
}
