using System.Numerics.Tensors;
using CnnSharp.Kernels;
using CnnSharp.Kernels.Direct;

namespace CnnSharp.Compile.Ops;

/// <summary>The backward phases of <see cref="ConvChainOp"/> (see its remarks).</summary>
internal sealed unsafe partial class ConvChainOp
{
    public override void Backward(ExecutionPlan plan)
    {
        BeginStep(plan);
        _inputGrad = plan.Grad[Inputs[0]] is not null;
        PackLayers(forward: false);
        int last = _layers.Length - 1;
        _phase = _layers.Length;
        long t = Now();
        Run(_backward);
        t = Mark(t, last, 5);
        if (_layers[last].Stage.Norm is not null) _layers[last].FinishBackward(_chunkStatPointers, _chunks, _statStride);
        FinishProjectionBackward(last);
        t = Mark(t, last, 4);
        for (_phase = last; _phase >= 0; _phase--)
        {
            Run(_backward);
            t = Mark(t, _phase, 5);
            var layer = _layers[_phase];
            // Large accumulators (a 128 -> 128 3x3 conv sums 26 chunks of 147k floats) are summed by all threads, a row range each.
            bool split = _active > 1 && layer.Plan.WeightLength >= ParallelReduceFloats;
            if (split) WorkerPool.Shared.Run(_active, _reduceRows);
            layer.ReduceConvGradient(_chunkStatPointers, _chunks, _statStride, rowsDone: split);
            ReduceProjectionGradients(_phase);
            if (_phase > 0 && _layers[_phase - 1].Stage.Norm is not null) _layers[_phase - 1].FinishBackward(_chunkStatPointers, _chunks, _statStride);
            if (_phase > 0) FinishProjectionBackward(_phase - 1);
            t = Mark(t, _phase, 4);
        }
    }

    // Weight-gradient accumulators at least this long are reduced by all threads (below it the hand-off costs more).
    private const int ParallelReduceFloats = 16384;

    private void ReduceRowsPart(int part)
    {
        var layer = _layers[_phase];
        int rows = layer.WeightGradRows;
        layer.ReduceWeightGradRows(_chunks, (int)((long)rows * part / _active), (int)((long)rows * (part + 1) / _active));
    }

    private void BackwardChunk(int chunk, int thread)
    {
        var ts = _threads[thread];
        double* stats = (double*)_chunkStats[chunk].Pointer;
        new Span<double>(stats, StatRegions * 3 * _statStride).Clear();
        var (start, end) = Chunk(chunk);
        int s = _phase;
        if (s == _layers.Length)
        {
            // The chain output's gradient (through the residual add: also the residual's gradient), blocked, then the last
            // stage's pass A.
            var l = _layers[s - 1];
            int q = l.PoolH * l.PoolW, length = l.Geometry.K * q;
            fixed (float* gy = _exec!.Grad[Output], y = _exec.Data[Output], gr = _residual ? _exec.Grad[Inputs[1]] : null)
            {
                for (int n = start; n < end; n++)
                {
                    float* gyn = gy + (long)n * length;
                    if (_residual || _residualRelu) gyn = ResidualBackward(gyn, y + (long)n * length, gr == null ? null : gr + (long)n * length, length, ts);
                    float* g = l.G!.Pointer + (long)n * l.OutputImage;
                    BlockedLayout.FromChannelMajor(gyn, g, l.Geometry.K, q);
                    long t = Now();
                    PassA(l, n, g, stats);
                    ProjectPassA(s - 1, n, g, stats);
                    Mark(t, s - 1, 3);
                }
            }
            return;
        }
        var layer = _layers[s];
        var acc = layer.Accumulators[chunk];
        // A Winograd stage's chunk accumulates in the transform domain (per thread) and leaves its share in acc at the end.
        var wg = layer.Weight.RequiresGrad ? layer.WinoWeightGrad : null;
        float* wgAcc = ts.WeightGrad.Pointer;
        if (wg is not null) new Span<float>(wgAcc, wg.AccumulatorLength).Clear();
        else if (layer.Weight.RequiresGrad) acc.Clear();
        float* dyGroup = ts.Dy[s].Pointer;
        // A projection reading a strided inner stage runs image by image with it (its input gradient joins the stage's).
        var innerProjection = s > 0 ? ProjectionOf(s) : null;
        if (innerProjection is { Layer.Weight.RequiresGrad: true }) innerProjection.Layer.Accumulators[chunk].Clear();
        var p = layer.Plan;
        int group = layer.WeightGradGroup;
        fixed (float* gx = _exec!.Grad[Inputs[0]])
        {
            for (int n0 = start; n0 < end; n0 += group)
            {
                int n1 = Math.Min(n0 + group, end);
                for (int n = n0; n < n1; n++)
                {
                    float* dy = dyGroup + (long)(n - n0) * layer.DyImage;
                    float* interior = dy + layer.DyPadding * layer.DyRow + layer.DyPadding * 16;
                    long t = Now();
                    BnReluPool.BackwardInput(_level, layer.Stage.Relu, layer.Stage.Pool is not null, layer.Y!.Pointer + (long)n * p.OutputImage, layer.Blocks,
                        layer.OutH, layer.OutW, layer.Scale.Pointer, layer.Shift.Pointer, layer.G!.Pointer + (long)n * layer.OutputImage,
                        layer.PoolH * layer.PoolW * 16, layer.PoolW * 16, layer.CoefA.Pointer, layer.CoefB.Pointer, layer.CoefC.Pointer,
                        interior, layer.DyPlane, layer.DyRow, stats + 2 * _statStride);
                    t = Mark(t, s, 0);
                    if (wg is not null) wg.AccumulateImage(layer.X!.Pointer + (long)n * p.InputImage, interior, layer.DyPlane, layer.DyRow, wgAcc, wgAcc + wg.AccumulatorLength);
                    t = Mark(t, s, 1);
                    if (s == 0 && !_inputGrad) continue;
                    var dxPlan = layer.DxPlan!;
                    float* dx = s == 0 ? ts.Dx!.Pointer : layer.Strided is not null ? ts.PhaseDx.Pointer : _layers[s - 1].G!.Pointer + (long)n * _layers[s - 1].OutputImage;
                    if (layer.WinoDx is not null)
                        layer.WinoDx.ForwardImage(dy, layer.PackedT!.Pointer, null, dx, dxPlan.OutputPlane, dxPlan.OutWidth * 16, null, null, relu: false, ts.Winograd.Pointer);
                    else dxPlan.ForwardImage(dy, layer.PackedT!.Pointer, null, dx, dxPlan.OutputPlane, dxPlan.OutWidth * 16, null, null, relu: false);
                    t = Mark(t, s, 2);
                    if (s > 0)
                    {
                        if (layer.Strided is { } st)
                        {
                            // (It times its own passes.)
                            dx = InnerStridedBackward(s, st, innerProjection, chunk, start, end, n, dx, ts, stats);
                            t = Now();
                        }
                        InnerBackward(s, n, dx);
                        PassA(_layers[s - 1], n, dx, stats);
                        ProjectPassA(s - 1, n, dx, stats);
                    }
                    else
                    {
                        var g = layer.Geometry;
                        float* image = gx + (long)n * g.C * g.H * g.W;
                        if (layer.Strided is { } strided) strided.AddInputGradient(dx, image);
                        else BlockedLayout.ToChannelMajor(dx, image, g.C, g.H * g.W, accumulate: true);
                    }
                    Mark(t, s, 3);
                }
                if (wg is null && layer.Weight.RequiresGrad)
                {
                    long t = Now();
                    p.WeightGradImages(layer.X!.Pointer + (long)n0 * p.InputImage, p.InputImage, dyGroup + layer.DyPadding * layer.DyRow + layer.DyPadding * 16,
                        layer.DyImage, n1 - n0, layer.DyPlane, layer.DyRow, acc.Pointer);
                    Mark(t, s, 1);
                }
            }
            if (s == 0 && ProjectionOf(0) is { } tp0) ProjectBackward(tp0, chunk, start, end, ts, stats, gx);
        }
        long w = Now();
        wg?.ToDirect(wgAcc, acc.Pointer);
        Mark(w, s, 1);
    }

    // The residual add's backward for one image (AddOp's arithmetic): adds dy·[y > 0] (or dy) into the residual's
    // gradient when it has one, and returns the gradient that flows into the chain (the masked copy, or dy itself).
    private float* ResidualBackward(float* gy, float* y, float* gr, int length, ThreadScratch ts)
    {
        var dy = new ReadOnlySpan<float>(gy, length);
        if (!_residualRelu)
        {
            if (gr != null) TensorPrimitives.Add(new ReadOnlySpan<float>(gr, length), dy, new Span<float>(gr, length));
            return gy;
        }
        // One pass for the mask (ReluBackward's select); the residual's gradient then adds the masked copy.
        var masked = ts.Masked.Span[..length];
        MaskPositive(new ReadOnlySpan<float>(y, length), dy, masked);
        if (gr != null) TensorPrimitives.Add(new ReadOnlySpan<float>(gr, length), masked, new Span<float>(gr, length));
        return ts.Masked.Pointer;
    }

    // Pass A of a stage's batch norm for image n, given the gradient of the stage's output.
    private void PassA(ConvChainLayer l, int n, float* g, double* stats)
    {
        if (!l.NeedsPassA) return;
        BnReluPool.BackwardStats(_level, l.Stage.Relu, l.Stage.Pool is not null, l.Y!.Pointer + (long)n * l.Plan.OutputImage, l.Blocks, l.OutH, l.OutW,
            l.Scale.Pointer, l.Shift.Pointer, l.Mean.Pointer, l.InvStd.Pointer, g, l.PoolH * l.PoolW * 16, l.PoolW * 16, stats, stats + _statStride);
    }
}
