using CnnSharp.Functional;

namespace CnnSharp.Modules;

/// <summary>2-D transposed convolution layer (PyTorch's <c>nn.ConvTranspose2d</c>): <c>y = F.ConvTranspose2d(x, Weight, Bias, ...)</c>.</summary>
/// <remarks>
/// <para>Parameters: <c>weight</c> of shape (in, out/groups, KH, KW) (PyTorch's layout, input channels first) and, unless
/// <c>bias: false</c>, <c>bias</c> of shape (out), initialised as PyTorch does (<see cref="Init.DefaultLayerInit"/>:
/// U(−1/√fan_in, 1/√fan_in) for both, where fan_in is computed from the weight's shape as for any layer:
/// <c>out/groups·KH·KW</c>).</para>
/// <para>Input (N, in, H, W) → output (N, out, OutH, OutW), <c>OutH = (H − 1)·sH − 2·pH + dH·(KH − 1) + opH + 1</c>
/// (likewise W). <c>new ConvTranspose2d(c, c, 4, stride: 2, padding: 1)</c> doubles the spatial size. PyTorch's
/// <c>output_size</c> forward argument is not supported: give <c>outputPadding</c> instead.</para>
/// </remarks>
public sealed class ConvTranspose2d : Module
{
    /// <summary>Creates the layer with square kernel and settings.</summary>
    /// <param name="inChannels">Input channels.</param>
    /// <param name="outChannels">Output channels.</param>
    /// <param name="kernelSize">Kernel height and width.</param>
    /// <param name="stride">Stride on both axes (≥ 1).</param>
    /// <param name="padding">Padding removed from both sides of the output (≥ 0).</param>
    /// <param name="outputPadding">Extra rows/columns at the bottom/right of the output; smaller than the stride or the dilation.</param>
    /// <param name="groups">Channel groups; divides both channel counts.</param>
    /// <param name="bias">Whether to learn an additive bias.</param>
    /// <param name="dilation">Dilation on both axes (≥ 1).</param>
    /// <param name="generator">Random source for the initialisation (default <see cref="Generator.Default"/>).</param>
    /// <exception cref="ShapeException">A size is non-positive, the padding negative, the output padding too large, or groups does not divide the channels.</exception>
    public ConvTranspose2d(int inChannels, int outChannels, int kernelSize, int stride = 1, int padding = 0, int outputPadding = 0,
        int groups = 1, bool bias = true, int dilation = 1, Generator? generator = null)
        : this(inChannels, outChannels, (kernelSize, kernelSize), (stride, stride), (padding, padding), (outputPadding, outputPadding), groups, bias,
            (dilation, dilation), generator)
    {
    }

    /// <summary>Creates the layer with per-axis (height, width) settings.</summary>
    /// <param name="inChannels">Input channels.</param>
    /// <param name="outChannels">Output channels.</param>
    /// <param name="kernelSize">(KH, KW).</param>
    /// <param name="stride">(sH, sW); default (1, 1).</param>
    /// <param name="padding">(pH, pW); default (0, 0).</param>
    /// <param name="outputPadding">(opH, opW); default (0, 0).</param>
    /// <param name="groups">Channel groups; divides both channel counts.</param>
    /// <param name="bias">Whether to learn an additive bias.</param>
    /// <param name="dilation">(dH, dW); default (1, 1).</param>
    /// <param name="generator">Random source for the initialisation (default <see cref="Generator.Default"/>).</param>
    /// <exception cref="ShapeException">A size is non-positive, the padding negative, the output padding too large, or groups does not divide the channels.</exception>
    public ConvTranspose2d(int inChannels, int outChannels, (int H, int W) kernelSize, (int H, int W)? stride = null, (int H, int W)? padding = null,
        (int H, int W)? outputPadding = null, int groups = 1, bool bias = true, (int H, int W)? dilation = null, Generator? generator = null)
    {
        InChannels = inChannels;
        OutChannels = outChannels;
        KernelSize = kernelSize;
        Stride = stride ?? (1, 1);
        Padding = padding ?? (0, 0);
        OutputPadding = outputPadding ?? (0, 0);
        Dilation = dilation ?? (1, 1);
        Groups = groups;
        string d = $"in_channels {inChannels}, out_channels {outChannels}, kernel_size {KernelSize}, stride {Stride}, padding {Padding}, " +
            $"output_padding {OutputPadding}, dilation {Dilation}, groups {groups}";
        ConvSettings.Validate("ConvTranspose2d", inChannels, outChannels, groups, d,
            kernelSize.H > 0 && kernelSize.W > 0, Stride.H > 0 && Stride.W > 0, Padding.H >= 0 && Padding.W >= 0, Dilation.H > 0 && Dilation.W > 0);
        if (OutputPadding.H < 0 || OutputPadding.W < 0 || OutputPadding.H >= Math.Max(Stride.H, Dilation.H) || OutputPadding.W >= Math.Max(Stride.W, Dilation.W))
            throw new ShapeException($"ConvTranspose2d: output_padding must be non-negative and smaller than either the stride or the dilation ({d})");
        Weight = RegisterParameter("weight", Tensor.Zeros(inChannels, outChannels / groups, kernelSize.H, kernelSize.W));
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
    /// <summary>(pH, pW), removed from both sides of the output.</summary>
    public (int H, int W) Padding { get; }
    /// <summary>(opH, opW), added at the bottom/right of the output.</summary>
    public (int H, int W) OutputPadding { get; }
    /// <summary>(dH, dW).</summary>
    public (int H, int W) Dilation { get; }
    /// <summary>Channel groups.</summary>
    public int Groups { get; }
    /// <summary>The kernel, shape (in, out/groups, KH, KW).</summary>
    public Tensor Weight { get; }
    /// <summary>The bias, shape (out), or null when created with <c>bias: false</c>.</summary>
    public Tensor? Bias { get; }

    /// <summary>Applies the transposed convolution to <paramref name="input"/> (N, in, H, W).</summary>
    /// <exception cref="ShapeException">The input is not 4-D or has the wrong channel count.</exception>
    public override Tensor Forward(Tensor input) => F.ConvTranspose2d(input, Weight, Bias, Stride, Padding, OutputPadding, Dilation, Groups);

    /// <summary>PyTorch's repr, e.g. <c>4, 6, kernel_size=(3, 2), stride=(2, 2), padding=(1, 1), output_padding=(1, 1), groups=2</c>.</summary>
    protected override string ExtraRepr() =>
        ConvSettings.Repr(InChannels, OutChannels, Pair(KernelSize), Pair(Stride), Padding != (0, 0) ? Pair(Padding) : null,
            Dilation != (1, 1) ? Pair(Dilation) : null, Groups, Bias is not null, OutputPadding != (0, 0) ? Pair(OutputPadding) : null);

    private static string Pair((int H, int W) v) => $"({v.H}, {v.W})";
}
