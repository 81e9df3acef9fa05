using CnnSharp.Functional;

namespace CnnSharp.Modules;

/// <summary>1-D convolution layer (PyTorch's <c>nn.Conv1d</c> with <c>padding_mode='zeros'</c>): <c>y = F.Conv1d(x, Weight, Bias, ...)</c>.</summary>
/// <remarks>
/// <para>Parameters: <c>weight</c> of shape (out, in/groups, KL) and, unless <c>bias: false</c>, <c>bias</c> of shape (out), initialised
/// as in PyTorch (<see cref="Init.DefaultLayerInit"/>, fan_in = in/groups·KL).</para>
/// <para>Input (N, in, L) → output (N, out, OutL) with <c>OutL = floor((L + 2p − d·(KL−1) − 1)/s) + 1</c>.</para>
/// </remarks>
public sealed class Conv1d : Module
{
    /// <summary>Creates the layer.</summary>
    /// <param name="inChannels">Input channels C.</param>
    /// <param name="outChannels">Output channels K.</param>
    /// <param name="kernelSize">Kernel length KL.</param>
    /// <param name="stride">Stride (≥ 1).</param>
    /// <param name="padding">Zeros added at both ends (≥ 0).</param>
    /// <param name="dilation">Dilation (≥ 1).</param>
    /// <param name="groups">Channel groups; divides both channel counts.</param>
    /// <param name="bias">Whether to learn an additive bias.</param>
    /// <param name="generator">Random source for the initialisation (default <see cref="Generator.Default"/>).</param>
    /// <exception cref="ShapeException">A size is non-positive, the padding negative, or groups does not divide the channels.</exception>
    public Conv1d(int inChannels, int outChannels, int kernelSize, int stride = 1, int padding = 0, int dilation = 1,
        int groups = 1, bool bias = true, Generator? generator = null)
    {
        InChannels = inChannels;
        OutChannels = outChannels;
        KernelSize = kernelSize;
        Stride = stride;
        Padding = padding;
        Dilation = dilation;
        Groups = groups;
        string d = $"in_channels {inChannels}, out_channels {outChannels}, kernel_size {kernelSize}, stride {stride}, padding {padding}, dilation {dilation}, groups {groups}";
        ConvSettings.Validate("Conv1d", inChannels, outChannels, groups, d, kernelSize > 0, stride > 0, padding >= 0, dilation > 0);
        Weight = RegisterParameter("weight", Tensor.Zeros(outChannels, inChannels / groups, kernelSize));
        if (bias) Bias = RegisterParameter("bias", Tensor.Zeros(outChannels));
        Init.DefaultLayerInit(Weight, Bias, generator);
    }

    /// <summary>Input channels.</summary>
    public int InChannels { get; }
    /// <summary>Output channels.</summary>
    public int OutChannels { get; }
    /// <summary>Kernel length.</summary>
    public int KernelSize { get; }
    /// <summary>Stride.</summary>
    public int Stride { get; }
    /// <summary>Zeros added at both ends.</summary>
    public int Padding { get; }
    /// <summary>Dilation.</summary>
    public int Dilation { get; }
    /// <summary>Channel groups.</summary>
    public int Groups { get; }
    /// <summary>The kernel, shape (out, in/groups, KL).</summary>
    public Tensor Weight { get; }
    /// <summary>The bias, shape (out), or null when created with <c>bias: false</c>.</summary>
    public Tensor? Bias { get; }

    /// <summary>Convolves <paramref name="input"/> (N, in, L) into (N, out, OutL).</summary>
    /// <exception cref="ShapeException">The input is not 3-D, has the wrong channel count, or is shorter than the dilated kernel after padding.</exception>
    public override Tensor Forward(Tensor input) => F.Conv1d(input, Weight, Bias, Stride, Padding, Dilation, Groups);

    /// <summary>PyTorch's repr, e.g. <c>16, 33, kernel_size=(3,), stride=(2,)</c>.</summary>
    protected override string ExtraRepr() =>
        ConvSettings.Repr(InChannels, OutChannels, $"({KernelSize},)", $"({Stride},)", Padding != 0 ? $"({Padding},)" : null,
            Dilation != 1 ? $"({Dilation},)" : null, Groups, Bias is not null);
}
