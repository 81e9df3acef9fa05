using System.Numerics.Tensors;
using CnnSharp.Kernels;
using CnnSharp.Kernels.Direct;

namespace CnnSharp.Compile.Ops;

/// <summary>
/// Inference forward for batches smaller than the thread count: each image runs split inside the image over the worker
/// pool (channel blocks for the layout conversions and epilogues, Winograd parts or output-channel groups for the convs),
/// instead of one image per thread, where a batch of one would run on a single thread.
/// </summary>
/// <remarks>
/// Every output element is computed by exactly the code and order of the image-by-image path (Winograd
/// <see cref="WinogradConv2d.ForwardPart"/> is bit-identical to <c>ForwardImage</c>; a direct stage's part is the same
/// plan's register tiles on a contiguous range of its output-channel groups), so results are bit-identical for every
/// thread count and either path. Only inference plans without batch statistics take it (no barriers, no accumulators).
/// </remarks>
internal sealed unsafe partial class ConvChainOp
{
    /// <summary>Multiply-adds per image below which a chain is not split (a few pool dispatches per stage cost more than
    /// a second thread saves); settable for tests.</summary>
    internal static long MinSplitMacs { get; set; } = 1L << 22;

    /// <summary>Forwards that ran split inside the image (for tests: only ever grows).</summary>
    internal static long SplitForwards;

    /// <summary>Turns the intra-image split off (bench A/B and tests comparing it with the image-by-image path).</summary>
    internal static bool SplitImages { get; set; } = true;

    private DirectParts?[]? _directParts;
    private Action<int, int>? _splitBody;
    private int _splitImage, _splitStage, _splitKind, _groupsPerPart, _directPartsThreads;

    /// <summary>The direct conv of one stage cut into output-channel-group ranges: one plan per range length.</summary>
    private sealed class DirectParts(int groupsPerPart, int groups, DirectConv2d full, DirectConv2d part, DirectConv2d? last)
    {
        public int Count { get; } = (groups + groupsPerPart - 1) / groupsPerPart;

        public void Run(int unit, float* x, float* packed, float* bias, float* y, nint yPlane, nint yRow)
        {
            int first = unit * groupsPerPart, g = full.GroupWidth;
            var plan = unit == Count - 1 && last is not null ? last : part;
            long panel = (long)full.InBlocks * full.KernelSize * full.KernelSize * full.PixelStride * g;
            int c0 = first * g;
            plan.ForwardImage(x, packed + first * panel, bias == null ? null : bias + c0, y + c0 / 16 * yPlane + c0 % 16, yPlane, yRow, null, null, relu: false);
        }

        /// <summary>The parts for <paramref name="threads"/> threads, or null when the plan cannot be cut (one part).</summary>
        public static DirectParts? For(DirectConv2d full, int threads)
        {
            int g = full.GroupWidth, groups = full.OutChannels / g;
            int per = (groups + 3 * threads - 1) / (3 * threads);
            if (per >= groups || per * g % 16 != 0) return null;
            DirectConv2d Plan(int count) => new(full.InChannels, count * g, full.KernelSize, full.Padding, full.Height, full.Width, full.Path);
            var part = Plan(per);
            int rest = groups % per;
            var last = rest == 0 ? null : Plan(rest);
            // A part with another group width (AVX-512 picks 16 or 32 channels by K) would compute other tiles: not cut.
            if (part.GroupWidth != g || (last is not null && (last.GroupWidth != g || rest * g % 16 != 0))) return null;
            return new DirectParts(per, groups, full, part, last);
        }
    }

    /// <summary>Whether this forward splits images: inference, no batch statistics, fewer images than threads, enough work.</summary>
    private bool SplitsImages()
    {
        if (!SplitImages || _differentiable || _n >= Parallelism.MaxThreads) return false;
        if (_macsPerImage < 0)
        {
            _macsPerImage = _layers.Sum(l => l.Plan.MacsPerImage);
            _trainNorm = _layers.Any(l => l.TrainNorm);
        }
        return !_trainNorm && _macsPerImage >= MinSplitMacs;
    }

    // Multiply-adds per image of the chain's convs and whether a stage normalises with batch statistics (first use).
    private long _macsPerImage = -1;
    private bool _trainNorm;

    private void ForwardSplit()
    {
        int threads = Parallelism.MaxThreads;
        EnsureThreads(threads);
        _active = threads;
        _splitBody ??= SplitBody;
        Interlocked.Increment(ref SplitForwards);
        if (_directParts is null || _directParts.Length != _layers.Length || _directPartsThreads != threads)
        {
            _directParts = [.. _layers.Select(l => l.Wino is null ? DirectParts.For(l.Plan, threads) : null)];
            _projectionParts = [.. _projections.Select(p => p is null ? null : DirectParts.For(p.Plan, threads))];
            _directPartsThreads = threads;
        }
        // The chain input's channels (a strided stage's plan reads the phase image: Phases times as many).
        int inputChannels = _layers[0].Geometry.C;
        for (_splitImage = 0; _splitImage < _n; _splitImage++)
        {
            // Kind 0: the NCHW input into conv 0's padded blocked input (or a strided stage's phase image), by channel block.
            _splitKind = 0;
            // Planar inputs (fewer than 16 channels: stems) by plane, blocked ones by 16-channel block.
            WorkerPool.Shared.RunDynamic(threads, inputChannels < 16 ? inputChannels : inputChannels / 16, _splitBody);
            for (int s = 0; s < _layers.Length; s++)
            {
                var layer = _layers[s];
                _splitStage = s;
                // Kind 1: conv s, by Winograd part or output-channel-group range.
                _splitKind = 1;
                int parts;
                if (layer.Wino is { } wino)
                {
                    int groups = wino.OutChannels / 16;
                    int splits = Math.Clamp((3 * threads + wino.BlockCount - 1) / wino.BlockCount, 1, groups);
                    _groupsPerPart = (groups + splits - 1) / splits;
                    parts = wino.PartCount(_groupsPerPart);
                }
                else parts = _directParts[s]?.Count ?? 1;
                WorkerPool.Shared.RunDynamic(threads, parts, _splitBody);
                if (_projections[s] is not null)
                {
                    // Kind 3: the projection shortcut added in stage s's epilogue, by output-channel-group range.
                    _splitKind = 3;
                    WorkerPool.Shared.RunDynamic(threads, ProjectionParts(s), _splitBody);
                }
                // Kind 2: stage s's epilogue into the next conv's input (or the chain's output), by channel block.
                _splitKind = 2;
                WorkerPool.Shared.RunDynamic(threads, layer.Blocks, _splitBody);
            }
        }
    }

    private void SplitBody(int unit, int thread)
    {
        var ts = _threads[0];
        int n = _splitImage;
        fixed (float* input = _exec!.Data[Inputs[0]], output = _exec.Data[Output], residual = _residual ? _exec.Data[Inputs[1]] : null)
        {
            if (_splitKind == 0)
            {
                var first = _layers[0];
                var g = first.Geometry;
                int channels = g.C < 16 ? 1 : 16;
                float* image = input + (long)n * g.C * g.H * g.W;
                if (first.Strided is { } strided) strided.ToPhaseImage(image, ts.Inputs[0].Pointer, unit, 1);
                else BlockedLayout.ToPaddedInput(image, first.Plan, ts.Inputs[0].Pointer, unit * channels, channels);
                return;
            }
            if (_splitKind == 3)
            {
                ProjectPart(_splitStage, unit);
                return;
            }
            var layer = _layers[_splitStage];
            var p = layer.Plan;
            float* y = ts.PreNorm[_splitStage].Pointer;
            if (_splitKind == 1)
            {
                float* x = ts.Inputs[_splitStage].Pointer;
                float* bias = layer.Bias16 is null ? null : layer.Bias16.Pointer;
                if (layer.Wino is { } wino)
                    wino.ForwardPart(unit, _groupsPerPart, x, layer.Packed.Pointer, bias, y, p.OutputPlane, p.OutWidth * 16, relu: false,
                        _threads[thread].Winograd.Pointer);
                else if (_directParts![_splitStage] is { } parts) parts.Run(unit, x, layer.Packed.Pointer, bias, y, p.OutputPlane, p.OutWidth * 16);
                else p.ForwardImage(x, layer.Packed.Pointer, bias, y, p.OutputPlane, p.OutWidth * 16, null, null, relu: false);
                return;
            }
            // The epilogue of channel block `unit`: BnReluPool.Forward's per-block work, as the image-by-image path does it.
            float* yb = y + (long)unit * p.OutputPlane;
            float* scale = layer.Scale.Pointer + unit * 16, shift = layer.Shift.Pointer + unit * 16;
            bool pool = layer.Stage.Pool is not null;
            if (_splitStage + 1 < _layers.Length && _layers[_splitStage + 1].Strided is { } phases)
            {
                // A strided inner stage: the block's epilogue into the staging image, then gathered into the phase image.
                int pixels = layer.PoolH * layer.PoolW;
                float* staged = ts.Staging.Pointer;
                BnReluPool.Forward(_level, layer.Stage.Relu, pool, yb, 1, layer.OutH, layer.OutW, scale, shift, staged + (long)unit * pixels * 16,
                    pixels * 16, layer.PoolW * 16);
                if (_inner[_splitStage] is { } rs) AddInner(rs, n, staged, pixels * 16, layer.PoolW * 16, ts, unit, unit + 1);
                phases.BlockedToPhaseImage(staged, ts.Inputs[_splitStage + 1].Pointer, unit, 1);
                return;
            }
            if (_splitStage + 1 < _layers.Length)
            {
                var next = _layers[_splitStage + 1].Plan;
                float* x = ts.Inputs[_splitStage + 1].Pointer + next.Padding * next.InputRow + next.Padding * 16;
                BnReluPool.Forward(_level, layer.Stage.Relu, pool, yb, 1, layer.OutH, layer.OutW, scale, shift, x + (long)unit * next.InputPlane,
                    next.InputPlane, next.InputRow);
                if (_inner[_splitStage] is { } r) AddInner(r, n, x, next.InputPlane, next.InputRow, ts, unit, unit + 1);
                return;
            }
            int q = layer.PoolH * layer.PoolW;
            float* blocked = ts.Output.Pointer + (long)unit * q * 16;
            BnReluPool.Forward(_level, layer.Stage.Relu, pool, yb, 1, layer.OutH, layer.OutW, scale, shift, blocked, q * 16, layer.PoolW * 16);
            if (_inner[_splitStage] is { } last) AddInner(last, n, ts.Output.Pointer, q * 16, layer.PoolW * 16, ts, unit, unit + 1);
            long at = (long)n * layer.OutputImage + (long)unit * 16 * q;
            BlockedLayout.ToChannelMajor(blocked, output + at, 16, q);
            if (residual != null)
            {
                var sum = new Span<float>(output + at, 16 * q);
                TensorPrimitives.Add(sum, new ReadOnlySpan<float>(residual + at, 16 * q), sum);
                if (_residualRelu) TensorPrimitives.Max(sum, 0f, sum);
            }
        }
    }
}
