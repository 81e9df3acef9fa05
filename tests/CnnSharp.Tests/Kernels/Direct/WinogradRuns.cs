using CnnSharp.Kernels;
using CnnSharp.Kernels.Direct;
using static CnnSharp.Tests.Kernels.Direct.DirectConv2dTests;

namespace CnnSharp.Tests.Kernels.Direct;

/// <summary>
/// One image through a Winograd plan's kernels with fresh buffers (weights packed from doubles, statistics pre-filled with
/// 1 because the kernels add to them), returned as arrays: shared by the tests that compare two plans' bits
/// (<see cref="WinogradWideTests"/>, <see cref="WinogradPositionPadTests"/>).
/// </summary>
internal static unsafe class WinogradRuns
{
    internal static AlignedBuffer Pack(WinogradConv2d plan, double[] wt, bool transposeAndFlip)
    {
        var packed = new AlignedBuffer(plan.PackedLength);
        plan.PackWeights(ToFloat(wt), transposeAndFlip, packed.Pointer);
        return packed;
    }

    internal static (float[] Y, float[] Sums) Forward(WinogradConv2d plan, AlignedBuffer xb, double[] wt, double[] b, bool relu)
    {
        var packed = Pack(plan, wt, transposeAndFlip: false);
        var bias = new AlignedBuffer(plan.OutChannels);
        ToFloat(b).CopyTo(bias.Span);
        var y = new AlignedBuffer(plan.OutputImage);
        var sums = new AlignedBuffer(2 * plan.OutChannels);
        sums.Span.Fill(1f); // the kernel adds to what is there
        var scratch = new AlignedBuffer(plan.ScratchLength);
        float* sum = sums.Pointer;
        plan.ForwardImage(xb.Pointer, packed.Pointer, bias.Pointer, y.Pointer, plan.OutputPlane, plan.OutWidth * 16, sum, sum + plan.OutChannels, relu,
            scratch.Pointer);
        GC.KeepAlive(packed);
        GC.KeepAlive(bias);
        GC.KeepAlive(scratch);
        return (y.Span.ToArray(), sums.Span.ToArray());
    }

    // Every part of one output group (the intra-image split's units), one scratch reused as one thread would.
    internal static float[] ForwardParts(WinogradConv2d plan, AlignedBuffer xb, double[] wt, double[] b, bool relu)
    {
        var packed = Pack(plan, wt, transposeAndFlip: false);
        var bias = new AlignedBuffer(plan.OutChannels);
        ToFloat(b).CopyTo(bias.Span);
        var y = new AlignedBuffer(plan.OutputImage);
        var scratch = new AlignedBuffer(plan.ScratchLength);
        for (int part = 0; part < plan.PartCount(1); part++)
            plan.ForwardPart(part, 1, xb.Pointer, packed.Pointer, bias.Pointer, y.Pointer, plan.OutputPlane, plan.OutWidth * 16, relu, scratch.Pointer);
        GC.KeepAlive(packed);
        GC.KeepAlive(bias);
        GC.KeepAlive(scratch);
        return y.Span.ToArray();
    }

    internal static float[] InputGradient(WinogradConv2d dxPlan, AlignedBuffer dyb, double[] wt)
    {
        var packed = Pack(dxPlan, wt, transposeAndFlip: true);
        var dx = new AlignedBuffer(dxPlan.OutputImage);
        var scratch = new AlignedBuffer(dxPlan.ScratchLength);
        dxPlan.ForwardImage(dyb.Pointer, packed.Pointer, null, dx.Pointer, dxPlan.OutputPlane, dxPlan.OutWidth * 16, null, null, relu: false, scratch.Pointer);
        GC.KeepAlive(packed);
        GC.KeepAlive(scratch);
        return dx.Span.ToArray();
    }

    internal static float[] WeightGradient(WinogradConv2d conv, WinogradWeightGrad plan, AlignedBuffer[] images, AlignedBuffer gy)
    {
        var acc = new AlignedBuffer(plan.AccumulatorLength);
        var scratch = new AlignedBuffer(plan.ScratchLength);
        nint row = conv.OutWidth * 16, plane = conv.OutHeight * row;
        foreach (var x in images) plan.AccumulateImage(x.Pointer, gy.Pointer, plane, row, acc.Pointer, scratch.Pointer);
        var direct = new AlignedBuffer(conv.WeightLength);
        plan.ToDirect(acc.Pointer, direct.Pointer);
        GC.KeepAlive(acc);
        GC.KeepAlive(scratch);
        return [.. acc.Span.ToArray(), .. direct.Span.ToArray()];
    }
}
