using System.Numerics.Tensors;
using CnnSharp.Autograd;
using CnnSharp.Compile;
using CnnSharp.Kernels;

namespace CnnSharp.Functional;

public static partial class F
{
    // A separate method so the replay closure is allocated only while tracing; the replay reads the weight and bias
    // from the recorded node's inputs, so optimiser updates are seen.
    private static void TraceConvTranspose2d(Tensor y, (int H, int W) stride, (int H, int W) padding, (int H, int W) outputPadding,
        (int H, int W) dilation, int groups) =>
        Tracer.Describe(y, new ConvTranspose2dSpec(stride, padding, outputPadding, dilation, groups, i => ConvTranspose2d(i[0], i[1], i.Length > 2 ? i[2] : null, stride, padding, outputPadding, dilation, groups)));

    /// <summary>2-D transposed convolution (PyTorch's <c>F.conv_transpose2d</c>), the adjoint of <see cref="Conv2d(Tensor, Tensor, Tensor?, int, int, int, int)"/> with square parameters.</summary>
    /// <remarks>See the per-axis overload.</remarks>
    /// <param name="input">Shape (N, C_in, H, W).</param>
    /// <param name="weight">Shape (C_in, C_out/groups, KH, KW) (PyTorch's layout: input channels first).</param>
    /// <param name="bias">Shape (C_out), or null.</param>
    /// <param name="stride">Stride on both axes (≥ 1).</param>
    /// <param name="padding">Implicit padding removed from both sides of the output (≥ 0).</param>
    /// <param name="outputPadding">Rows/columns added at the bottom/right of the output; smaller than the stride or the dilation.</param>
    /// <param name="dilation">Kernel dilation on both axes (≥ 1).</param>
    /// <param name="groups">Channel groups; divides C_in and C_out.</param>
    /// <returns>Shape (N, C_out, OutH, OutW).</returns>
    /// <exception cref="ShapeException">As for the per-axis overload.</exception>
    public static Tensor ConvTranspose2d(Tensor input, Tensor weight, Tensor? bias = null, int stride = 1, int padding = 0, int outputPadding = 0,
        int dilation = 1, int groups = 1) =>
        ConvTranspose2d(input, weight, bias, (stride, stride), (padding, padding), (outputPadding, outputPadding), (dilation, dilation), groups);

    /// <summary>2-D transposed convolution with per-axis (height, width) settings (PyTorch's <c>F.conv_transpose2d</c>).</summary>
    /// <remarks>
    /// <para>The gradient of <c>conv2d</c> with respect to its input: every input pixel scatters its value times the kernel
    /// into the output. With Cg = C_in/G, Og = C_out/G and g = c / Cg:</para>
    /// <para><c>out[n, g·Og + o, ih·sH − pH + i·dH, iw·sW − pW + j·dW] += input[n, c, ih, iw] · weight[c, o, i, j]</c>, plus
    /// <c>bias[g·Og + o]</c>; contributions falling outside the output are dropped.</para>
    /// <para>Output size: <c>OutH = (H − 1)·sH − 2·pH + dH·(KH − 1) + opH + 1</c>, likewise W. The forward pass runs the
    /// convolution kernels' backward-data pass, the input gradient is a convolution of the output gradient with the same
    /// weight, and the weight gradient is the convolution's backward-weight pass with the roles of input and output swapped.</para>
    /// </remarks>
    /// <param name="input">Shape (N, C_in, H, W).</param>
    /// <param name="weight">Shape (C_in, C_out/groups, KH, KW).</param>
    /// <param name="bias">Shape (C_out), or null.</param>
    /// <param name="stride">(sH, sW), each ≥ 1.</param>
    /// <param name="padding">(pH, pW), each ≥ 0.</param>
    /// <param name="outputPadding">(opH, opW), each ≥ 0 and smaller than the stride or the dilation of its axis (PyTorch's rule).</param>
    /// <param name="dilation">(dH, dW), each ≥ 1.</param>
    /// <param name="groups">Channel groups; divides C_in and C_out.</param>
    /// <returns>Shape (N, C_out, OutH, OutW).</returns>
    /// <exception cref="ShapeException">Wrong ranks, a channel mismatch, groups not dividing the channels, a bad stride,
    /// padding, output padding or dilation, a non-positive output size, or a bias of the wrong length; the message names the shapes.</exception>
    public static Tensor ConvTranspose2d(Tensor input, Tensor weight, Tensor? bias, (int H, int W) stride, (int H, int W) padding,
        (int H, int W) outputPadding, (int H, int W) dilation, int groups = 1)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(weight);
        var g = ConvTransposeGeometry(input.Shape, weight.Shape, stride, padding, outputPadding, dilation, groups);
        CheckConvBias("ConvTranspose2d", input, weight, bias, g.C);
        // y-space is the convolution's input: (N, C_out, OutH, OutW); the transposed conv is its backward-data pass.
        var y = Tensor.Zeros(new Shape(g.N, g.C, g.H, g.W));
        Conv2dKernels.BackwardInput(input.Data, weight.Data, y.Data, g);
        if (bias is not null) AddChannelBias(y.Data, bias.Data, g.N, g.C, g.H * g.W);
        y.SetGradFn(new ConvTranspose2dBackward(input, weight, bias, g));
        if (Tracer.Current is not null) TraceConvTranspose2d(y, stride, padding, outputPadding, dilation, groups);
        return y;
    }

    /// <summary>
    /// The convolution whose backward-data pass is this transposed convolution: its input is the transposed conv's output
    /// (C = C_out, H×W = OutH×OutW), its output the transposed conv's input (K = C_in, OutH×OutW = H×W).
    /// </summary>
    private static Conv2dGeometry ConvTransposeGeometry(Shape input, Shape weight, (int H, int W) stride, (int H, int W) padding,
        (int H, int W) outputPadding, (int H, int W) dilation, int groups)
    {
        string d = $"input {input}, weight {weight}, stride ({stride.H}, {stride.W}), padding ({padding.H}, {padding.W}), " +
            $"output_padding ({outputPadding.H}, {outputPadding.W}), dilation ({dilation.H}, {dilation.W}), groups {groups}";
        const string op = "ConvTranspose2d";
        if (input.Rank != 4) throw new ShapeException($"{op}: expected a 4-D input (N, C_in, H, W) ({d})");
        if (weight.Rank != 4) throw new ShapeException($"{op}: expected a 4-D weight (C_in, C_out/groups, KH, KW) ({d})");
        if (stride.H <= 0 || stride.W <= 0) throw new ShapeException($"{op}: stride must be positive ({d})");
        if (dilation.H <= 0 || dilation.W <= 0) throw new ShapeException($"{op}: dilation must be positive ({d})");
        if (padding.H < 0 || padding.W < 0) throw new ShapeException($"{op}: padding must be non-negative ({d})");
        if (outputPadding.H < 0 || outputPadding.W < 0) throw new ShapeException($"{op}: output_padding must be non-negative ({d})");
        if (outputPadding.H >= Math.Max(stride.H, dilation.H) || outputPadding.W >= Math.Max(stride.W, dilation.W))
            throw new ShapeException($"{op}: output_padding must be smaller than either the stride or the dilation ({d})");
        if (groups <= 0) throw new ShapeException($"{op}: groups must be positive ({d})");
        int n = input[0], c = input[1], h = input[2], w = input[3];
        int cw = weight[0], og = weight[1], kh = weight[2], kw = weight[3];
        if (og <= 0 || kh <= 0 || kw <= 0) throw new ShapeException($"{op}: weight dimensions must be positive ({d})");
        if (c != cw) throw new ShapeException($"{op}: input has {c} channels but the weight expects {cw} ({d})");
        if (c % groups != 0) throw new ShapeException($"{op}: groups {groups} does not divide input channels {c} ({d})");
        long outH = (long)(h - 1) * stride.H - 2L * padding.H + (long)dilation.H * (kh - 1) + outputPadding.H + 1;
        long outW = (long)(w - 1) * stride.W - 2L * padding.W + (long)dilation.W * (kw - 1) + outputPadding.W + 1;
        if (h <= 0 || w <= 0 || outH <= 0 || outW <= 0)
            throw new ShapeException($"{op}: the output size ({outH}, {outW}) is not positive ({d})");
        if ((long)n * og * groups * outH * outW > Array.MaxLength)
            throw new ShapeException($"{op}: the output ({n}, {og * groups}, {outH}, {outW}) is too large ({d})");
        return new Conv2dGeometry
        {
            N = n, C = og * groups, H = (int)outH, W = (int)outW, K = c, KH = kh, KW = kw,
            StrideH = stride.H, StrideW = stride.W,
            PadTop = padding.H, PadLeft = padding.W, PadBottom = padding.H, PadRight = padding.W,
            DilationH = dilation.H, DilationW = dilation.W, Groups = groups, OutH = h, OutW = w,
        };
    }

    private static void AddChannelBias(Span<float> y, ReadOnlySpan<float> bias, int n, int channels, int plane)
    {
        for (int b = 0; b < n; b++)
            for (int c = 0; c < channels; c++)
            {
                var s = y.Slice((b * channels + c) * plane, plane);
                TensorPrimitives.Add(s, bias[c], s);
            }
    }
}

/// <summary>
/// Gradients of the transposed convolution (geometry <c>g</c> is the underlying convolution's): <c>dx += conv2d(dy, w)</c>,
/// <c>dw += conv2d backward-weight(input: dy, grad output: x)</c>, <c>db[o] += Σ dy[:, o]</c>.
/// </summary>
file sealed class ConvTranspose2dBackward : Node
{
    private readonly Tensor _input;
    private readonly Tensor _weight;
    private readonly Tensor? _bias;
    private readonly Conv2dGeometry _g;

    public ConvTranspose2dBackward(Tensor input, Tensor weight, Tensor? bias, in Conv2dGeometry g)
        : base(bias is null ? [input, weight] : [input, weight, bias])
    {
        _input = input;
        _weight = weight;
        _bias = bias;
        _g = g;
    }

    protected internal override void Backward(Tensor gradOutput)
    {
        var gx = GradOf(_input);
        if (!gx.IsEmpty)
        {
            // The convolution kernel overwrites its output, so it writes a temporary that is then accumulated.
            var tmp = new float[gx.Length];
            Conv2dKernels.Forward(gradOutput.Data, _weight.Data, default, tmp, _g);
            TensorPrimitives.Add(gx, tmp, gx);
        }
        var gw = GradOf(_weight);
        if (!gw.IsEmpty) Conv2dKernels.BackwardWeight(gradOutput.Data, _input.Data, gw, _g);
        if (_bias is not null)
        {
            var gb = GradOf(_bias);
            if (gb.IsEmpty) return;
            int plane = _g.H * _g.W;
            ReadOnlySpan<float> dy = gradOutput.Data;
            for (int c = 0; c < _g.C; c++)
            {
                double s = 0;
                for (int n = 0; n < _g.N; n++) s += TensorPrimitives.Sum(dy.Slice((n * _g.C + c) * plane, plane));
                gb[c] += (float)s;
            }
        }
    }
}
