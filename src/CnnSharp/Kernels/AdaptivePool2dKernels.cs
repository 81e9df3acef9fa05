using System.Diagnostics;

namespace CnnSharp.Kernels;

/// <summary>
/// Adaptive 2-D average and max pooling over NCHW planes with PyTorch's window bounds.
/// </summary>
/// <remarks>
/// Layout: input (N*C planes, H, W), output (N*C planes, OutH, OutW), contiguous. Output (i, j) covers input rows
/// <c>[floor(i*H/OutH), ceil((i+1)*H/OutH))</c> and columns <c>[floor(j*W/OutW), ceil((j+1)*W/OutW))</c>
/// (<see cref="AdaptivePool2dGeometry.Start"/>/<see cref="AdaptivePool2dGeometry.End"/>); every window is non-empty.
/// Backward kernels accumulate into gradInput; the max backward is <see cref="Pool2dKernels.ScatterArgmax"/>, shared with
/// max pooling.
/// </remarks>
internal static unsafe class AdaptivePool2dKernels
{
    /// <summary><c>out[p, i, j] = mean of in[p, rows(i), cols(j)]</c>.</summary>
    public static void AvgForward(ReadOnlySpan<float> input, Span<float> output, in AdaptivePool2dGeometry g)
    {
        int inPlane = g.H * g.W, outPlane = g.OutH * g.OutW, planes = g.Planes;
        Debug.Assert(input.Length == planes * inPlane && output.Length == planes * outPlane);
        var geo = g;
        Pool2dKernels.ForEachPlane(input, inPlane, output, outPlane, planes, inPlane, (x, y) =>
        {
            for (int i = 0; i < geo.OutH; i++)
            {
                int h0 = AdaptivePool2dGeometry.Start(i, geo.H, geo.OutH), h1 = AdaptivePool2dGeometry.End(i, geo.H, geo.OutH);
                for (int j = 0; j < geo.OutW; j++)
                {
                    int w0 = AdaptivePool2dGeometry.Start(j, geo.W, geo.OutW), w1 = AdaptivePool2dGeometry.End(j, geo.W, geo.OutW);
                    // Global pooling sums a whole plane (784 values for MNIST), so accumulate in double.
                    double sum = 0;
                    for (int h = h0; h < h1; h++)
                        for (int w = w0; w < w1; w++)
                            sum += x[h * geo.W + w];
                    y[i * geo.OutW + j] = (float)(sum / ((h1 - h0) * (w1 - w0)));
                }
            }
        });
    }

    /// <summary><c>gradInput[p, h, w] += gradOutput[p, i, j] / windowSize(i, j)</c> for every window containing (h, w).</summary>
    public static void AvgBackward(ReadOnlySpan<float> gradOutput, Span<float> gradInput, in AdaptivePool2dGeometry g)
    {
        int inPlane = g.H * g.W, outPlane = g.OutH * g.OutW, planes = g.Planes;
        Debug.Assert(gradOutput.Length == planes * outPlane && gradInput.Length == planes * inPlane);
        var geo = g;
        Pool2dKernels.ForEachPlane(gradOutput, outPlane, gradInput, inPlane, planes, inPlane, (gyp, gxp) =>
        {
            for (int i = 0; i < geo.OutH; i++)
            {
                int h0 = AdaptivePool2dGeometry.Start(i, geo.H, geo.OutH), h1 = AdaptivePool2dGeometry.End(i, geo.H, geo.OutH);
                for (int j = 0; j < geo.OutW; j++)
                {
                    int w0 = AdaptivePool2dGeometry.Start(j, geo.W, geo.OutW), w1 = AdaptivePool2dGeometry.End(j, geo.W, geo.OutW);
                    float share = gyp[i * geo.OutW + j] / ((h1 - h0) * (w1 - w0));
                    for (int h = h0; h < h1; h++)
                        for (int w = w0; w < w1; w++)
                            gxp[h * geo.W + w] += share;
                }
            }
        });
    }

    /// <summary>
    /// <c>out[p, i, j] = max of in[p, rows(i), cols(j)]</c>; <c>argmax</c> holds the plane-relative index <c>h*W + w</c> of the
    /// first maximum in row-major order (a NaN wins, as in PyTorch).
    /// </summary>
    public static void MaxForward(ReadOnlySpan<float> input, Span<float> output, Span<int> argmax, in AdaptivePool2dGeometry g)
    {
        int inPlane = g.H * g.W, outPlane = g.OutH * g.OutW, planes = g.Planes;
        Debug.Assert(input.Length == planes * inPlane && output.Length == planes * outPlane && argmax.Length == output.Length);
        var geo = g;
        fixed (float* pIn = input, pOut = output)
        fixed (int* pArg = argmax)
        {
            float* xp = pIn, yp = pOut;
            int* ap = pArg;
            Parallelism.For(planes, (start, end) =>
            {
                for (int p = start; p < end; p++)
                {
                    var x = new ReadOnlySpan<float>(xp + (long)p * inPlane, inPlane);
                    var y = new Span<float>(yp + (long)p * outPlane, outPlane);
                    var arg = new Span<int>(ap + (long)p * outPlane, outPlane);
                    for (int i = 0; i < geo.OutH; i++)
                    {
                        int h0 = AdaptivePool2dGeometry.Start(i, geo.H, geo.OutH), h1 = AdaptivePool2dGeometry.End(i, geo.H, geo.OutH);
                        for (int j = 0; j < geo.OutW; j++)
                        {
                            int w0 = AdaptivePool2dGeometry.Start(j, geo.W, geo.OutW), w1 = AdaptivePool2dGeometry.End(j, geo.W, geo.OutW);
                            // PyTorch's rule: start from -inf at the window's first index; '>' keeps the first maximum,
                            // and every NaN replaces the current best.
                            int bestIndex = h0 * geo.W + w0;
                            float best = float.NegativeInfinity;
                            for (int h = h0; h < h1; h++)
                            {
                                for (int w = w0; w < w1; w++)
                                {
                                    int idx = h * geo.W + w;
                                    float v = x[idx];
                                    if (v > best || float.IsNaN(v))
                                    {
                                        best = v;
                                        bestIndex = idx;
                                    }
                                }
                            }
                            y[i * geo.OutW + j] = best;
                            arg[i * geo.OutW + j] = bestIndex;
                        }
                    }
                }
            }, Pool2dKernels.PlanesPerChunk(inPlane));
        }
    }
}
