using CnnSharp.Kernels;
using CnnSharp.Kernels.Direct;

namespace CnnSharp.Compile.Ops;

/// <summary>
/// A stride-1 convolution on the register-blocked direct kernels (<see cref="DirectConv2d"/>): forward, input gradient
/// (the forward kernel over the padded output gradient with transposed, flipped weights) and weight gradient, image by
/// image, with the NCHW ↔ blocked conversions at the op's edges.
/// </summary>
/// <remarks>
/// <para>Eligible: one group, stride 1, dilation 1, a square kernel, the same padding on every side and at most
/// kernel − 1, C = 1 or a multiple of 16, K a multiple of 16 (<see cref="Supports"/>); other convolutions use
/// <see cref="Conv2dOp"/>.</para>
/// <para>Threads: the batch is cut into a fixed number of image chunks, whatever the thread count, each with its own
/// weight-gradient accumulator, summed in chunk order: every bit of every result is the same for any thread count.</para>
/// <para>Memory (allocated once): the padded blocked input of the whole batch (kept for the weight gradient); the blocked
/// output, padded blocked output gradient and blocked input gradient are one image per chunk (each image is converted
/// back to NCHW before the chunk's next image), so they cost chunks/N of a batch.</para>
/// </remarks>
internal sealed unsafe class DirectConv2dOp : CompiledOp
{
    private const int MaxChunks = 8;

    private readonly Tensor _weight;
    private readonly Tensor? _bias;
    private readonly Conv2dGeometry _g;
    private readonly DirectConv2d _plan;
    private readonly DirectConv2d? _dxPlan;
    private readonly AlignedBuffer _packed, _x, _y;
    private readonly AlignedBuffer? _packedT, _dy, _dx, _bias16;
    private readonly AlignedBuffer[] _acc;
    private readonly nint[] _accPointers;
    private readonly int _chunks;
    private readonly Action<int, int> _forward, _backward;
    private ExecutionPlan? _exec;
    private bool _inputGrad;

    public DirectConv2dOp(int input, int output, Conv2dSpec spec, bool differentiable, BatchNormSpec? fold = null, bool relu = false)
        : base([input], output)
    {
        _weight = spec.Weight;
        _bias = spec.Bias;
        _fold = fold;
        _relu = relu;
        _frozen = spec.Frozen && (fold is null || fold.Frozen);
        _g = spec.Geometry;
        var level = Isa.Level;
        _plan = new DirectConv2d(_g.C, _g.K, _g.KH, _g.PadTop, _g.H, _g.W, level);
        _packed = new AlignedBuffer(_plan.WeightLength);
        _chunks = Math.Max(1, Math.Min(MaxChunks, _g.N));
        _x = new AlignedBuffer(_g.N * _plan.InputImage);
        _y = new AlignedBuffer(_chunks * _plan.OutputImage);
        if (_bias is not null || fold is not null) _bias16 = new AlignedBuffer(_g.K);
        if (fold is not null) _folded = new float[_weight.Numel];
        _acc = [];
        _accPointers = [];
        if (differentiable)
        {
            if (_g.C % 16 == 0)
            {
                _dxPlan = DirectConv2d.ForBackwardInput(_plan);
                _packedT = new AlignedBuffer(_dxPlan.WeightLength);
                _dx = new AlignedBuffer(_chunks * _dxPlan.OutputImage);
            }
            // The padded blocked output gradient: the input-gradient plan's input layout (padding kernel − 1 − p).
            int pad = _g.KH - 1 - _g.PadTop, ph = _g.OutH + 2 * pad, pw = _g.OutW + 2 * pad;
            _dyPadding = pad;
            _dyRow = pw * 16;
            _dyPlane = ph * _dyRow;
            _dy = new AlignedBuffer(_chunks * (_g.K / 16) * _dyPlane);
            _acc = [.. Enumerable.Range(0, _chunks).Select(_ => new AlignedBuffer(_plan.WeightLength))];
            _accPointers = [.. _acc.Select(a => (nint)a.Pointer)];
        }
        // Winograd (F(4x4, 3x3) or F(2x2, 5x5)) for the forward and input-gradient passes when there are enough output
        // tiles to amortise the transforms (7x7-tile layers measured no faster in the ONNX chains); same layouts.
        _wino = WinogradConv2d.For(_plan);
        if (_wino is not null && Tiles(_wino) < MinWinogradTiles) _wino = null;
        if (_wino is not null)
        {
            _winoPacked = new AlignedBuffer(_wino.PackedLength);
            if (_dxPlan is not null)
            {
                _winoDx = WinogradConv2d.ForBackwardInput(_wino);
                _winoDxPacked = new AlignedBuffer(_winoDx.PackedLength);
            }
            int scratch = Math.Max(_wino.ScratchLength, _winoDx?.ScratchLength ?? 0);
            _scratch = [.. Enumerable.Range(0, _chunks).Select(_ => new AlignedBuffer(scratch))];
        }
        _forward = ForwardChunk;
        _backward = BackwardChunk;
    }

    private const int MinWinogradTiles = 16;
    private readonly WinogradConv2d? _wino, _winoDx;
    private readonly AlignedBuffer? _winoPacked, _winoDxPacked;
    private readonly AlignedBuffer[] _scratch = [];

    private static int Tiles(WinogradConv2d w) => w.TileRows * w.TileColumns;

    private readonly int _dyPadding, _dyRow, _dyPlane;
    private readonly BatchNormSpec? _fold;
    private readonly bool _relu;
    private readonly float[]? _folded;
    private readonly bool _frozen;
    private bool _packedOnce;

    /// <summary>Whether the direct kernels take this convolution (see the class remarks).</summary>
    public static bool Supports(in Conv2dGeometry g) =>
        g.Groups == 1 && g.StrideH == 1 && g.StrideW == 1 && g.DilationH == 1 && g.DilationW == 1 && g.KH == g.KW
        && g.PadTop == g.PadLeft && g.PadTop == g.PadBottom && g.PadTop == g.PadRight && g.PadTop <= g.KH - 1
        && (g.C == 1 || g.C % 16 == 0) && g.K % 16 == 0 && g.OutH > 0 && g.OutW > 0;

    public override string Name => $"Conv2d {(_wino is null ? "direct" : "winograd")} {_g.C}->{_g.K} {_g.KH}x{_g.KW}" + (_fold is null ? "" : "+BatchNorm(folded)") + (_relu ? "+ReLU" : "");

    public override IEnumerable<Tensor> Parameters => _bias is null ? [_weight] : [_weight, _bias];

    public override void Forward(ExecutionPlan plan)
    {
        _exec = plan;
        if (!_packedOnce) Pack();
        _packedOnce = _frozen;
        Parallelism.For(_chunks, _forward);
    }

    /// <summary>Folds (or copies) the bias and packs the weights for the kernels: per forward, or once when frozen.</summary>
    private void Pack()
    {
        if (_fold is not null)
        {
            Conv2dOp.Fold(_fold, _weight.Data, _bias is null ? default : _bias.Data, _folded, _bias16!.Span);
        }
        else if (_bias is not null)
        {
            _bias.Data.CopyTo(_bias16!.Span);
        }
        ReadOnlySpan<float> w = _fold is null ? _weight.Data : _folded;
        if (_wino is not null) _wino.PackWeights(w, transposeAndFlip: false, _winoPacked!.Pointer);
        else _plan.PackWeights(w, transposeAndFlip: false, _packed.Pointer);
    }

    private void ForwardChunk(int c0, int c1)
    {
        int q = _g.OutH * _g.OutW;
        fixed (float* src = _exec!.Data[Inputs[0]], dst = _exec.Data[Output])
        {
            for (int chunk = c0; chunk < c1; chunk++)
            for (int n = Start(chunk); n < Start(chunk + 1); n++)
            {
                float* x = _x.Pointer + (long)n * _plan.InputImage;
                float* y = _y.Pointer + (long)chunk * _plan.OutputImage;
                BlockedLayout.ToPaddedInput(src + (long)n * _g.C * _g.H * _g.W, _plan, x, 0, _g.C);
                float* bias = _bias16 is null ? null : _bias16.Pointer;
                if (_wino is not null) _wino.ForwardImage(x, _winoPacked!.Pointer, bias, y, _plan.OutputPlane, _g.OutW * 16, null, null, _relu, _scratch[chunk].Pointer);
                else _plan.ForwardImage(x, _packed.Pointer, bias, y, _plan.OutputPlane, _g.OutW * 16, null, null, _relu);
                BlockedLayout.ToChannelMajor(y, dst + (long)n * _g.K * q, _g.K, q);
            }
        }
    }

    private int Start(int chunk) => (int)((long)_g.N * chunk / _chunks);

    public override void Backward(ExecutionPlan plan)
    {
        if (_fold is not null || _relu) throw new InvalidOperationException("DirectConv2dOp: fused inference form has no backward");
        _exec = plan;
        _inputGrad = plan.Grad[Inputs[0]] is not null;
        if (_inputGrad && _winoDx is not null) _winoDx.PackWeights(_weight.Data, transposeAndFlip: true, _winoDxPacked!.Pointer);
        else if (_inputGrad && _dxPlan is not null) _dxPlan.PackWeights(_weight.Data, transposeAndFlip: true, _packedT!.Pointer);
        Parallelism.For(_chunks, _backward);
        if (_weight.RequiresGrad) _plan.UnpackWeightGrad(_accPointers, _weight.Grad!.Data, accumulate: true);
        if (_bias is { RequiresGrad: true }) Conv2dKernels.BackwardBias(plan.Grad[Output], _bias.Grad!.Data, _g);
        if (_inputGrad && _dxPlan is null) Conv2dKernels.BackwardInput(plan.Grad[Output], _weight.Data, plan.Grad[Inputs[0]], _g);
    }

    private void BackwardChunk(int c0, int c1)
    {
        int q = _g.OutH * _g.OutW, inQ = _g.H * _g.W;
        fixed (float* gy = _exec!.Grad[Output], gx = _exec.Grad[Inputs[0]])
        {
            for (int chunk = c0; chunk < c1; chunk++)
            {
                float* acc = _acc[chunk].Pointer;
                _acc[chunk].Clear();
                for (int n = Start(chunk); n < Start(chunk + 1); n++)
                {
                    float* dy = _dy!.Pointer + (long)chunk * (_g.K / 16) * _dyPlane;
                    float* interior = dy + _dyPadding * _dyRow + _dyPadding * 16;
                    BlockedLayout.ToBlockedInterior(gy + (long)n * _g.K * q, interior, 0, _g.K, _g.OutH, _g.OutW, _dyPlane, _dyRow);
                    if (_inputGrad && _dxPlan is not null)
                    {
                        float* dx = _dx!.Pointer + (long)chunk * _dxPlan.OutputImage;
                        if (_winoDx is not null)
                            _winoDx.ForwardImage(dy, _winoDxPacked!.Pointer, null, dx, _dxPlan.OutputPlane, _g.W * 16, null, null, relu: false, _scratch[chunk].Pointer);
                        else _dxPlan.ForwardImage(dy, _packedT!.Pointer, null, dx, _dxPlan.OutputPlane, _g.W * 16, null, null, relu: false);
                        BlockedLayout.ToChannelMajor(dx, gx + (long)n * _g.C * inQ, _g.C, inQ, accumulate: true);
                    }
                    if (_weight.RequiresGrad)
                        _plan.WeightGradImage(_x.Pointer + (long)n * _plan.InputImage, interior, _dyPlane, _dyRow, acc);
                }
            }
        }
    }
}
