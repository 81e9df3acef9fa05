using CnnSharp.Autograd;
using CnnSharp.Kernels;
using CnnSharp.Compile;

namespace CnnSharp.Functional;

public static partial class F
{
    /// <summary>2-D convolution (a cross-correlation, as in PyTorch's <c>torch.nn.functional.conv2d</c>) with square parameters.</summary>
    /// <remarks>
    /// <para>With G = <paramref name="groups"/>, Cg = C/G, Kg = K/G and g = k / Kg (the group of output channel k):</para>
    /// <para><c>out[n,k,oh,ow] = bias[k] + Σ_{c&lt;Cg, i&lt;KH, j&lt;KW} input[n, g·Cg + c, oh·s − p + i·d, ow·s − p + j·d] · weight[k,c,i,j]</c>,
    /// where positions outside the input are zero padding.</para>
    /// <para>Output size (the tutorial's formula with dilation): <c>OutH = floor((H + 2p − d·(KH−1) − 1)/s) + 1</c>, likewise for W;
    /// see <see cref="Conv2dGeometry.OutputSize(int, int, int, int, int)"/>.</para>
    /// <para>The tutorial's example, a 4×4 input, 3×3 kernel, <c>stride: 2, padding: 1</c>, gives a 2×2 output:
    /// <c>F.Conv2d(x, w, stride: 2, padding: 1)</c> with x (1, 1, 4, 4) and w (1, 1, 3, 3).</para>
    /// <para>Gradients flow to the input, weight and bias, each only when it requires grad.</para>
    /// </remarks>
    /// <param name="input">Shape (N, C, H, W).</param>
    /// <param name="weight">Shape (K, C/groups, KH, KW).</param>
    /// <param name="bias">Shape (K), or null for none.</param>
    /// <param name="stride">Step between output positions, both axes (≥ 1).</param>
    /// <param name="padding">Zeros added on every side (≥ 0).</param>
    /// <param name="dilation">Spacing between kernel taps, both axes (≥ 1).</param>
    /// <param name="groups">Channel groups; divides C and K.</param>
    /// <returns>Shape (N, K, OutH, OutW).</returns>
    /// <exception cref="ShapeException">Wrong ranks, channel mismatch, groups not dividing the channels, a kernel larger than the
    /// padded input, a non-positive stride or dilation, negative padding, or a bias of the wrong length; the message names the shapes and parameters.</exception>
    public static Tensor Conv2d(Tensor input, Tensor weight, Tensor? bias = null, int stride = 1, int padding = 0, int dilation = 1, int groups = 1) =>
        Conv2d(input, weight, bias, (stride, stride), (padding, padding, padding, padding), (dilation, dilation), groups);

    /// <summary>2-D convolution with per-axis stride, padding and dilation, given as (height, width).</summary>
    /// <remarks>Same formula as <see cref="Conv2d(Tensor, Tensor, Tensor?, int, int, int, int)"/> with <c>padding.H</c> rows added above
    /// and below and <c>padding.W</c> columns left and right.</remarks>
    /// <param name="input">Shape (N, C, H, W).</param>
    /// <param name="weight">Shape (K, C/groups, KH, KW).</param>
    /// <param name="bias">Shape (K), or null for none.</param>
    /// <param name="stride">(sH, sW), each ≥ 1.</param>
    /// <param name="padding">(pH, pW), each ≥ 0.</param>
    /// <param name="dilation">(dH, dW), each ≥ 1.</param>
    /// <param name="groups">Channel groups; divides C and K.</param>
    /// <returns>Shape (N, K, OutH, OutW).</returns>
    /// <exception cref="ShapeException">As for the square overload.</exception>
    public static Tensor Conv2d(Tensor input, Tensor weight, Tensor? bias, (int H, int W) stride, (int H, int W) padding, (int H, int W) dilation, int groups = 1) =>
        Conv2d(input, weight, bias, stride, (padding.H, padding.W, padding.H, padding.W), dilation, groups);

    /// <summary>2-D convolution with per-side padding (top, left, bottom, right), as ONNX's <c>Conv</c> allows.</summary>
    /// <remarks>
    /// <c>out[n,k,oh,ow] = bias[k] + Σ input[n, g·Cg + c, oh·sH − top + i·dH, ow·sW − left + j·dW] · weight[k,c,i,j]</c>;
    /// <c>OutH = floor((H + top + bottom − dH·(KH−1) − 1)/sH) + 1</c>, <c>OutW = floor((W + left + right − dW·(KW−1) − 1)/sW) + 1</c>.
    /// </remarks>
    /// <param name="input">Shape (N, C, H, W).</param>
    /// <param name="weight">Shape (K, C/groups, KH, KW).</param>
    /// <param name="bias">Shape (K), or null for none.</param>
    /// <param name="stride">(sH, sW), each ≥ 1.</param>
    /// <param name="padding">Zero rows/columns added on each side, each ≥ 0.</param>
    /// <param name="dilation">(dH, dW), each ≥ 1.</param>
    /// <param name="groups">Channel groups; divides C and K.</param>
    /// <returns>Shape (N, K, OutH, OutW).</returns>
    /// <exception cref="ShapeException">As for the square overload.</exception>
    public static Tensor Conv2d(Tensor input, Tensor weight, Tensor? bias, (int H, int W) stride,
        (int Top, int Left, int Bottom, int Right) padding, (int H, int W) dilation, int groups = 1)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(weight);
        var g = Conv2dGeometry.Create(input.Shape.Dims, weight.Shape.Dims, stride, padding, dilation, groups);
        CheckConvBias("Conv2d", input, weight, bias, g.K);
        var y = Conv2dCore(input, weight, bias, g);
        if (Tracer.Current is not null) Tracer.Describe(y, new Conv2dSpec(weight, bias, g));
        return y;
    }

    /// <summary>Runs a validated convolution and records its backward node (shared by Conv2d and Conv1d, whose 3-D tensors
    /// hold the data of the height-1 4-D ones: the kernels read only the data and <paramref name="g"/>).</summary>
    internal static Tensor Conv2dCore(Tensor input, Tensor weight, Tensor? bias, in Conv2dGeometry g, Shape? outputShape = null)
    {
        var y = Tensor.Uninitialized(outputShape ?? new Shape(g.N, g.K, g.OutH, g.OutW));
        Conv2dKernels.Forward(input.Data, weight.Data, bias is null ? default : bias.Data, y.Data, g);
        y.SetGradFn(new Conv2dBackward(input, weight, bias, g));
        return y;
    }

    internal static void CheckConvBias(string op, Tensor input, Tensor weight, Tensor? bias, int outChannels)
    {
        if (bias is null) return;
        if (bias.Rank != 1 || bias.Numel != outChannels)
            throw new ShapeException($"{op}: bias has shape {bias.Shape} but the weight has {outChannels} output channels, so the bias must be ({outChannels}) (input {input.Shape}, weight {weight.Shape}, bias {bias.Shape})");
    }
}

/// <summary>
/// Gradients of conv2d: <c>dx += conv2dᵀ(dy, w)</c> (backward-data), <c>dw += Σ dy ⋆ x</c> (backward-weight),
/// <c>db += Σ_{n,oh,ow} dy</c>; each computed only for inputs that require grad.
/// </summary>
file sealed class Conv2dBackward : Node
{
    private readonly Tensor _input;
    private readonly Tensor _weight;
    private readonly Tensor? _bias;
    private readonly Conv2dGeometry _geometry;

    public Conv2dBackward(Tensor input, Tensor weight, Tensor? bias, in Conv2dGeometry geometry)
        : base(bias is null ? [input, weight] : [input, weight, bias])
    {
        _input = input;
        _weight = weight;
        _bias = bias;
        _geometry = geometry;
    }

    protected internal override void Backward(Tensor gradOutput)
    {
        var gradInput = GradOf(_input);
        if (!gradInput.IsEmpty) Conv2dKernels.BackwardInput(gradOutput.Data, _weight.Data, gradInput, _geometry);
        var gradWeight = GradOf(_weight);
        if (!gradWeight.IsEmpty) Conv2dKernels.BackwardWeight(_input.Data, gradOutput.Data, gradWeight, _geometry);
        if (_bias is not null)
        {
            var gradBias = GradOf(_bias);
            if (!gradBias.IsEmpty) Conv2dKernels.BackwardBias(gradOutput.Data, gradBias, _geometry);
        }
    }
}
