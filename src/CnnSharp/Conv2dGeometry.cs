namespace CnnSharp;

/// <summary>
/// The complete geometry of a 2-D convolution (PyTorch's <c>conv2d</c> / ONNX <c>Conv</c>), validated once and shared by
/// the op, its kernels and its backward. Input (N, C, H, W), weight (K, C/groups, KH, KW), output (N, K, OutH, OutW).
/// </summary>
/// <remarks>
/// The output size along each axis is the tutorial's formula generalised with dilation and asymmetric padding:
/// <c>out = floor((in + padBegin + padEnd - dilation*(kernel-1) - 1) / stride) + 1</c>; with symmetric padding p,
/// dilation 1, this is <c>floor((in + 2p - kernel)/stride) + 1</c>.
/// </remarks>
public readonly record struct Conv2dGeometry
{
    /// <summary>Batch size.</summary>
    public int N { get; init; }
    /// <summary>Input channels.</summary>
    public int C { get; init; }
    /// <summary>Input height.</summary>
    public int H { get; init; }
    /// <summary>Input width.</summary>
    public int W { get; init; }
    /// <summary>Output channels.</summary>
    public int K { get; init; }
    /// <summary>Kernel height.</summary>
    public int KH { get; init; }
    /// <summary>Kernel width.</summary>
    public int KW { get; init; }
    /// <summary>Vertical stride.</summary>
    public int StrideH { get; init; }
    /// <summary>Horizontal stride.</summary>
    public int StrideW { get; init; }
    /// <summary>Zero rows added above the input.</summary>
    public int PadTop { get; init; }
    /// <summary>Zero columns added left of the input.</summary>
    public int PadLeft { get; init; }
    /// <summary>Zero rows added below the input.</summary>
    public int PadBottom { get; init; }
    /// <summary>Zero columns added right of the input.</summary>
    public int PadRight { get; init; }
    /// <summary>Vertical dilation (spacing between kernel taps).</summary>
    public int DilationH { get; init; }
    /// <summary>Horizontal dilation.</summary>
    public int DilationW { get; init; }
    /// <summary>Number of channel groups; C and K are both divisible by it.</summary>
    public int Groups { get; init; }
    /// <summary>Output height.</summary>
    public int OutH { get; init; }
    /// <summary>Output width.</summary>
    public int OutW { get; init; }

    /// <summary>Input channels per group.</summary>
    public int CPerGroup => C / Groups;
    /// <summary>Output channels per group.</summary>
    public int KPerGroup => K / Groups;

    /// <summary>
    /// The tutorial's output-size formula with dilation: <c>floor((input + padBegin + padEnd - dilation*(kernel-1) - 1)/stride) + 1</c>,
    /// or 0 or less when the (dilated) kernel does not fit in the padded input.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">stride or dilation is not positive.</exception>
    public static int OutputSizeWithPads(int input, int kernel, int stride, int padBegin, int padEnd, int dilation = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(stride, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(dilation, 1);
        long span = (long)dilation * (kernel - 1) + 1;
        long numer = input + (long)padBegin + padEnd - span;
        if (numer < 0) return 0;
        return (int)(numer / stride + 1);
    }

    /// <summary>The output-size formula with symmetric padding: <c>floor((input + 2*padding - dilation*(kernel-1) - 1)/stride) + 1</c>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">stride or dilation is not positive.</exception>
    public static int OutputSize(int input, int kernel, int stride = 1, int padding = 0, int dilation = 1) =>
        OutputSizeWithPads(input, kernel, stride, padding, padding, dilation);

    /// <summary>Validates and builds the geometry for symmetric padding (PyTorch's <c>conv2d</c> arguments).</summary>
    /// <exception cref="ShapeException">Any shape or parameter is invalid; the message names all of them.</exception>
    public static Conv2dGeometry Create(ReadOnlySpan<int> inputShape, ReadOnlySpan<int> weightShape,
        (int H, int W) stride, (int H, int W) padding, (int H, int W) dilation, int groups, string op = "Conv2d") =>
        Create(inputShape, weightShape, stride, (padding.H, padding.W, padding.H, padding.W), dilation, groups, op);

    /// <summary>Validates and builds the geometry with per-side padding (top, left, bottom, right), as ONNX allows.</summary>
    /// <exception cref="ShapeException">Any shape or parameter is invalid; the message names all of them.</exception>
    public static Conv2dGeometry Create(ReadOnlySpan<int> inputShape, ReadOnlySpan<int> weightShape,
        (int H, int W) stride, (int Top, int Left, int Bottom, int Right) pads, (int H, int W) dilation, int groups, string op = "Conv2d")
    {
        string Describe(ReadOnlySpan<int> i, ReadOnlySpan<int> w) =>
            $"input {Shape.Format(i)}, weight {Shape.Format(w)}, stride ({stride.H}, {stride.W}), padding ({pads.Top}, {pads.Left}, {pads.Bottom}, {pads.Right}), dilation ({dilation.H}, {dilation.W}), groups {groups}";
        string d = Describe(inputShape, weightShape);
        if (inputShape.Length != 4) throw new ShapeException($"{op}: expected a 4-D input (N, C, H, W) ({d})");
        if (weightShape.Length != 4) throw new ShapeException($"{op}: expected a 4-D weight (K, C/groups, KH, KW) ({d})");
        if (stride.H <= 0 || stride.W <= 0) throw new ShapeException($"{op}: stride must be positive ({d})");
        if (dilation.H <= 0 || dilation.W <= 0) throw new ShapeException($"{op}: dilation must be positive ({d})");
        if (pads.Top < 0 || pads.Left < 0 || pads.Bottom < 0 || pads.Right < 0) throw new ShapeException($"{op}: padding must be non-negative ({d})");
        if (groups <= 0) throw new ShapeException($"{op}: groups must be positive ({d})");
        int n = inputShape[0], c = inputShape[1], h = inputShape[2], w = inputShape[3];
        int k = weightShape[0], cg = weightShape[1], kh = weightShape[2], kw = weightShape[3];
        if (kh <= 0 || kw <= 0 || k <= 0) throw new ShapeException($"{op}: weight dimensions must be positive ({d})");
        if (c % groups != 0) throw new ShapeException($"{op}: groups {groups} does not divide input channels {c} ({d})");
        if (k % groups != 0) throw new ShapeException($"{op}: groups {groups} does not divide output channels {k} ({d})");
        if (c / groups != cg) throw new ShapeException($"{op}: input has {c} channels but weight expects {cg * groups} ({d})");
        int outH = OutputSizeWithPads(h, kh, stride.H, pads.Top, pads.Bottom, dilation.H);
        int outW = OutputSizeWithPads(w, kw, stride.W, pads.Left, pads.Right, dilation.W);
        if (outH <= 0 || outW <= 0)
            throw new ShapeException($"{op}: kernel ({kh}, {kw}) with dilation is larger than the padded input ({h + pads.Top + pads.Bottom}, {w + pads.Left + pads.Right}) ({d})");
        return new Conv2dGeometry
        {
            N = n, C = c, H = h, W = w, K = k, KH = kh, KW = kw,
            StrideH = stride.H, StrideW = stride.W,
            PadTop = pads.Top, PadLeft = pads.Left, PadBottom = pads.Bottom, PadRight = pads.Right,
            DilationH = dilation.H, DilationW = dilation.W, Groups = groups, OutH = outH, OutW = outW,
        };
    }

    /// <summary>Multiply-accumulate count of the forward pass (FLOPs = 2x this).</summary>
    public long Macs => (long)N * K * OutH * OutW * CPerGroup * KH * KW;
}
