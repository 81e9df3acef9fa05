using System.Numerics;
using System.Numerics.Tensors;
using CnnSharp.Kernels.Direct;

namespace CnnSharp.Compile.Ops;

/// <summary>
/// A residual add (+ ReLU) after stage <paramref name="Stage"/> of a merged conv chain: the operand is stage
/// <paramref name="Source"/>'s input (≥ 1: the blocked activation the chain already holds, e.g. a BasicBlock's identity
/// skip), or, with <paramref name="Source"/> −1, the plan value <paramref name="Value"/> (NCHW, e.g. a downsampling
/// block's projection shortcut planned as its own op); with a <paramref name="Projection"/> (inference plans), that
/// projection shortcut computed from strided stage <paramref name="Source"/>'s phase image (≥ 0, <see cref="ProjectionShortcut"/>).
/// </summary>
internal readonly record struct ChainResidual(int Stage, int Source, int Value, bool Relu, ChainProjection? Projection = null);

/// <summary>
/// Residual adds inside a conv chain (<c>PlanBuilder</c>'s merge pass, training and inference plans): consecutive residual
/// blocks run as one chain, so the activation between two blocks, which is also the second block's skip operand, stays
/// channel-blocked.
/// </summary>
/// <remarks>
/// <para>Forward: after stage t's epilogue has written its output (the next conv's padded blocked input, or the chain's
/// last blocked image), the operand is added and ReLU applied in place, with <see cref="AddOp"/>'s arithmetic. A stage's
/// input is the batch buffer in training plans and the thread's own per-stage input image in inference plans, which no
/// later stage of the same image overwrites; the intra-image split adds block by block after each block's epilogue.</para>
/// <para>Backward, per image: when stage s's input gradient has been written into stage s − 1's output gradient G, every
/// stage whose residual operand is stage s's input adds its (ReLU-masked) output gradient into G; then, when stage s − 1
/// itself ends in a residual add, G is masked by that ReLU (the output, stage s's stored input, is positive) and, for a
/// plan-value operand, added into that value's gradient. Each G is written in one phase and only read later, so the
/// masked gradient a source reads is complete, and everything stays per image: bit-identical for every thread count.</para>
/// </remarks>
internal sealed unsafe partial class ConvChainOp
{
    // Per stage, the residual add after it (null: none). The last stage's plan-value residual is the chain's own one
    // (_residual, added to the NCHW output), not an entry here.
    private readonly ChainResidual?[] _inner;

    private static int[] InputValues(int input, int residual, IReadOnlyList<ChainResidual>? inner)
    {
        var values = new List<int> { input };
        if (residual >= 0) values.Add(residual);
        if (inner is not null) values.AddRange(inner.Where(r => r.Source < 0).Select(r => r.Value));
        return [.. values];
    }

    private static ChainResidual?[] PlanInner(IReadOnlyList<ChainResidual>? inner, int stages, bool residual)
    {
        var byStage = new ChainResidual?[stages];
        foreach (var r in inner ?? [])
        {
            if (r.Stage < 0 || r.Stage >= stages || byStage[r.Stage] is not null || r.Source > r.Stage || (r.Source == 0 && r.Projection is null)
                || (r.Projection is not null && r.Source < 0)
                || (r.Source < 0 && (r.Stage == stages - 1 || r.Value < 0)) || (residual && r.Stage == stages - 1))
                throw new InvalidOperationException($"ConvChainOp: residual add {r} does not fit a chain of {stages} stages");
            byStage[r.Stage] = r;
        }
        return byStage;
    }

    private string InnerName(int stage) => _inner[stage] is { } r ? (r.Projection?.Name ?? "") + (r.Relu ? "+Add+ReLU" : "+Add") : "";

    // Adds stage r.Stage's residual operand for image n into its output (blocked, at dst with the given plane and row
    // strides), then ReLU when the add has one; channel blocks [b0, b1) only (b1 < 0: all).
    private void AddInner(ChainResidual r, int n, float* dst, nint dstPlane, nint dstRow, ThreadScratch ts, int b0 = 0, int b1 = -1)
    {
        var layer = _layers[r.Stage];
        int blocks = b1 < 0 ? layer.Blocks : b1, h = layer.PoolH, w = layer.PoolW, row = w * 16;
        if (AddTrainProjection(r.Stage, n, dst, dstPlane, dstRow, ts)) { }
        else if (_projections[r.Stage] is { } projection)
        {
            // The whole image's shortcut now, or (a block range: the intra-image split) already computed for the image.
            if (b1 < 0) projection.ForwardImage(ts.Inputs[r.Source].Pointer, ts.Projection.Pointer);
            projection.AddTo(ts.Projection.Pointer, dst, dstPlane, dstRow, b0, blocks);
        }
        else if (r.Source > 0)
        {
            float* src = StageInput(r.Source, n, ts, out nint plane, out nint srcRow);
            for (int b = b0; b < blocks; b++)
                for (int i = 0; i < h; i++)
                {
                    var d = new Span<float>(dst + b * dstPlane + i * dstRow, row);
                    TensorPrimitives.Add(d, new ReadOnlySpan<float>(src + b * plane + i * srcRow, row), d);
                }
        }
        else
        {
            fixed (float* value = _exec!.Data[r.Value])
            {
                float* image = value + (long)n * layer.OutputImage;
                bool vector = ChannelTranspose.Vectorised, dense = dstRow == row && dstPlane == h * row;
                for (int b = b0; b < blocks; b++)
                    for (int i = 0; i < (dense ? 1 : h); i++)
                        ChannelTranspose.ToBlocked(image + ((long)b * 16 * h + i) * w, (long)h * w, 1, dst + b * dstPlane + i * dstRow,
                            dense ? h * w : w, accumulate: true, vector);
            }
        }
        if (!r.Relu) return;
        for (int b = b0; b < blocks; b++)
            for (int i = 0; i < h; i++)
            {
                var d = new Span<float>(dst + b * dstPlane + i * dstRow, row);
                TensorPrimitives.Max(d, 0f, d);
            }
    }

    // Stage s's stored input for image n (s ≥ 1: a stride-1 stage of 16k channels; in inference plans the thread's own
    // image, ts): its interior, plane and row strides.
    private float* StageInput(int s, int n, ThreadScratch? ts, out nint plane, out nint row)
    {
        var p = _layers[s].Plan;
        (plane, row) = (p.InputPlane, p.InputRow);
        float* x = _differentiable ? _layers[s].X!.Pointer + (long)n * p.InputImage : ts!.Inputs[s].Pointer;
        return x + p.Padding * p.InputRow + p.Padding * 16;
    }

    // Completes g, stage s − 1's output gradient for image n (blocked, dense), after stage s's input gradient was written
    // into it: the gradients of the residual adds whose operand it is, then the ReLU mask of its own add (see remarks).
    private void InnerBackward(int s, int n, float* g)
    {
        var l = _layers[s - 1];
        int length = l.OutputImage;
        var gs = new Span<float>(g, length);
        for (int t = s; t < _layers.Length; t++)
            if (_inner[t] is { Projection: null, Source: var source } && source == s)
                TensorPrimitives.Add(gs, new ReadOnlySpan<float>(_layers[t].G!.Pointer + (long)n * _layers[t].OutputImage, length), gs);
        if (_inner[s - 1] is not { } r) return;
        // (A strided stage's stored input is its phase image: its backward masks in the phase domain, InnerStridedBackward.)
        if (r.Relu && _layers[s].Strided is null)
        {
            float* y = StageInput(s, n, null, out nint plane, out nint row);
            int w = l.PoolW * 16;
            for (int b = 0; b < l.Blocks; b++)
                for (int i = 0; i < l.PoolH; i++)
                    MaskPositive(new ReadOnlySpan<float>(y + b * plane + i * row, w), new Span<float>(g + ((long)b * l.PoolH + i) * w, w));
        }
        if (r.Source < 0 && _exec!.Grad[r.Value] is { } grad)
        {
            fixed (float* gr = grad) BlockedLayout.ToChannelMajor(g, gr + (long)n * length, l.Geometry.K, l.PoolH * l.PoolW, accumulate: true);
        }
    }

    // g[i] = y[i] > 0 ? g[i] : 0 (ReLU's backward through its output).
    private static void MaskPositive(ReadOnlySpan<float> y, Span<float> g) => MaskPositive(y, g, g);

    // dst[i] = y[i] > 0 ? g[i] : 0 (dst may be g).
    private static void MaskPositive(ReadOnlySpan<float> y, ReadOnlySpan<float> g, Span<float> dst)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            for (; i + Vector<float>.Count <= g.Length; i += Vector<float>.Count)
            {
                var v = new Vector<float>(g[i..]);
                Vector.ConditionalSelect(Vector.GreaterThan(new Vector<float>(y[i..]), Vector<float>.Zero), v, Vector<float>.Zero).CopyTo(dst[i..]);
            }
        }
        for (; i < g.Length; i++) dst[i] = y[i] > 0 ? g[i] : 0f;
    }
}
