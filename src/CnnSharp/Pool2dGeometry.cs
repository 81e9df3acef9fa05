namespace CnnSharp;

/// <summary>
/// The geometry of a 2-D pooling window sweep (max, average, Lp), validated once. Input (N, C, H, W), output (N, C, OutH, OutW).
/// An unbatched input (C, H, W) is described with N = 1, as PyTorch's pooling functions accept it.
/// </summary>
/// <remarks>
/// <c>out = floor_or_ceil((in + padBegin + padEnd - dilation*(kernel-1) - 1)/stride) + 1</c>. In ceil mode PyTorch drops the
/// last window when it would start inside the end padding: if <c>(out-1)*stride &gt;= in + padBegin</c> then <c>out -= 1</c>.
/// Ceil mode can therefore give one output even when the (dilated) window is larger than the padded input, e.g. input 3,
/// kernel 4, stride 3: <c>ceil(-1/3) + 1 = 1</c>; the window is clipped to the input, as in PyTorch and ONNX.
/// PyTorch also requires padding &lt;= kernel/2 (symmetric case).
/// </remarks>
public readonly record struct Pool2dGeometry
{
    /// <summary>Batch size.</summary>
    public int N { get; init; }
    /// <summary>Channels.</summary>
    public int C { get; init; }
    /// <summary>Input height.</summary>
    public int H { get; init; }
    /// <summary>Input width.</summary>
    public int W { get; init; }
    /// <summary>Window height.</summary>
    public int KH { get; init; }
    /// <summary>Window width.</summary>
    public int KW { get; init; }
    /// <summary>Vertical stride.</summary>
    public int StrideH { get; init; }
    /// <summary>Horizontal stride.</summary>
    public int StrideW { get; init; }
    /// <summary>Implicit padding above.</summary>
    public int PadTop { get; init; }
    /// <summary>Implicit padding left.</summary>
    public int PadLeft { get; init; }
    /// <summary>Implicit padding below.</summary>
    public int PadBottom { get; init; }
    /// <summary>Implicit padding right.</summary>
    public int PadRight { get; init; }
    /// <summary>Vertical dilation.</summary>
    public int DilationH { get; init; }
    /// <summary>Horizontal dilation.</summary>
    public int DilationW { get; init; }
    /// <summary>Whether the output size rounds up.</summary>
    public bool CeilMode { get; init; }
    /// <summary>Output height.</summary>
    public int OutH { get; init; }
    /// <summary>Output width.</summary>
    public int OutW { get; init; }

    /// <summary>Number of (n, c) planes, N * C; each plane is pooled independently.</summary>
    public int Planes => N * C;

    /// <summary>Output size along one axis with PyTorch's ceil-mode rule (see remarks on the type).</summary>
    public static int OutputSize(int input, int kernel, int stride, int padBegin, int padEnd, int dilation, bool ceilMode)
    {
        long numer = input + (long)padBegin + padEnd - (long)dilation * (kernel - 1) - 1 + (ceilMode ? stride - 1 : 0);
        // Floor division (PyTorch's div_rtn): a negative numerator means not even one window fits. In ceil mode a window
        // that overhangs the padded input's end still counts when it starts inside the input, as in PyTorch and ONNX.
        long outSize = (numer < 0 ? -((-numer + stride - 1) / stride) : numer / stride) + 1;
        if (outSize <= 0) return 0;
        if (ceilMode && (outSize - 1) * stride >= input + padBegin) outSize--;
        return (int)outSize;
    }

    /// <summary>Validates and builds the geometry for symmetric padding (PyTorch's pooling arguments).</summary>
    /// <exception cref="ShapeException">A shape or parameter is invalid; the message names all of them.</exception>
    public static Pool2dGeometry Create(ReadOnlySpan<int> inputShape, (int H, int W) kernel, (int H, int W) stride,
        (int H, int W) padding, (int H, int W) dilation, bool ceilMode, string op)
    {
        string d = $"input {Shape.Format(inputShape)}, kernel ({kernel.H}, {kernel.W}), stride ({stride.H}, {stride.W}), padding ({padding.H}, {padding.W}), dilation ({dilation.H}, {dilation.W}), ceilMode {ceilMode}";
        if (padding.H > kernel.H / 2 || padding.W > kernel.W / 2)
            throw new ShapeException($"{op}: padding must be at most half the kernel size ({d})");
        return Create(inputShape, kernel, stride, (padding.H, padding.W, padding.H, padding.W), dilation, ceilMode, op);
    }

    /// <summary>Validates and builds the geometry with per-side padding (top, left, bottom, right), as ONNX allows.</summary>
    /// <exception cref="ShapeException">A shape or parameter is invalid; the message names all of them.</exception>
    public static Pool2dGeometry Create(ReadOnlySpan<int> inputShape, (int H, int W) kernel, (int H, int W) stride,
        (int Top, int Left, int Bottom, int Right) pads, (int H, int W) dilation, bool ceilMode, string op)
    {
        string d = $"input {Shape.Format(inputShape)}, kernel ({kernel.H}, {kernel.W}), stride ({stride.H}, {stride.W}), padding ({pads.Top}, {pads.Left}, {pads.Bottom}, {pads.Right}), dilation ({dilation.H}, {dilation.W}), ceilMode {ceilMode}";
        if (inputShape.Length is not (3 or 4)) throw new ShapeException($"{op}: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input ({d})");
        if (kernel.H <= 0 || kernel.W <= 0) throw new ShapeException($"{op}: kernel size must be positive ({d})");
        if (stride.H <= 0 || stride.W <= 0) throw new ShapeException($"{op}: stride must be positive ({d})");
        if (dilation.H <= 0 || dilation.W <= 0) throw new ShapeException($"{op}: dilation must be positive ({d})");
        if (pads.Top < 0 || pads.Left < 0 || pads.Bottom < 0 || pads.Right < 0) throw new ShapeException($"{op}: padding must be non-negative ({d})");
        int batched = inputShape.Length - 4; // 0 for (N, C, H, W), -1 for (C, H, W)
        int n = batched == 0 ? inputShape[0] : 1, c = inputShape[1 + batched], h = inputShape[2 + batched], w = inputShape[3 + batched];
        if (c <= 0 || h <= 0 || w <= 0) throw new ShapeException($"{op}: channel and spatial dimensions must be non-empty ({d})");
        int outH = OutputSize(h, kernel.H, stride.H, pads.Top, pads.Bottom, dilation.H, ceilMode);
        int outW = OutputSize(w, kernel.W, stride.W, pads.Left, pads.Right, dilation.W, ceilMode);
        if (outH <= 0 || outW <= 0)
            throw new ShapeException($"{op}: window larger than the padded input ({h + pads.Top + pads.Bottom}, {w + pads.Left + pads.Right}) ({d})");
        return new Pool2dGeometry
        {
            N = n, C = c, H = h, W = w, KH = kernel.H, KW = kernel.W,
            StrideH = stride.H, StrideW = stride.W,
            PadTop = pads.Top, PadLeft = pads.Left, PadBottom = pads.Bottom, PadRight = pads.Right,
            DilationH = dilation.H, DilationW = dilation.W, CeilMode = ceilMode, OutH = outH, OutW = outW,
        };
    }
}
