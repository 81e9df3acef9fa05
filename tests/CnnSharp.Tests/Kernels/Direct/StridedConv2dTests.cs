using CnnSharp.Kernels;
using CnnSharp.Kernels.Direct;
using CnnSharp.Tests.TestUtilities;
using static CnnSharp.Tests.Kernels.Direct.DirectConv2dTests;

namespace CnnSharp.Tests.Kernels.Direct;

/// <summary>
/// The strided direct convolution (<see cref="StridedConv2d"/>: phase split + stride-1 direct kernels) on every SIMD path
/// against naive double loops over NCHW: forward, input gradient and weight gradient.
/// </summary>
public sealed unsafe class StridedConv2dTests
{
    /// <summary>(in, out, kernel, pad, height, width): ResNet's downsampling 3x3 and 1x1 projection (even and odd sizes),
    /// unpadded 3x3, a 5x5 (3x3 phase kernel), a 2-phase-wide 2x2 kernel, and a width that leaves tile remainders.</summary>
    public static TheoryData<int, int, int, int, int, int, int> Cases() => OnEveryIsa(
        (16, 32, 3, 1, 16, 16),
        (32, 64, 3, 1, 7, 9),
        (16, 32, 1, 0, 14, 14),
        (32, 16, 1, 0, 7, 5),
        (16, 48, 3, 0, 9, 8),
        (16, 16, 5, 2, 11, 10),
        (16, 16, 2, 1, 6, 7),
        (16, 32, 3, 2, 5, 37));

    private const int S = 2;

    private static int Out(int size, int ks, int p) => (size + 2 * p - ks) / S + 1;

    [Theory, MemberData(nameof(Cases))]
    public void Forward_matches_double_reference(int c, int k, int ks, int p, int h, int w, int pathIndex)
    {
        var conv = new StridedConv2d(c, k, ks, p, S, h, w, (IsaLevel)pathIndex);
        var plan = conv.Plan;
        var rng = new Random(c * 1000 + k * 10 + ks + h);
        double[] x = Random(rng, c * h * w), wt = Random(rng, k * c * ks * ks), b = Random(rng, k);
        int ho = Out(h, ks, p), wo = Out(w, ks, p);
        Assert.Equal((ho, wo), (plan.OutHeight, plan.OutWidth));
        var expected = new double[k * ho * wo];
        for (int o = 0; o < k; o++)
            for (int oy = 0; oy < ho; oy++)
                for (int ox = 0; ox < wo; ox++)
                {
                    double s = b[o];
                    for (int i = 0; i < c; i++)
                        for (int kh = 0; kh < ks; kh++)
                            for (int kw = 0; kw < ks; kw++)
                            {
                                int iy = oy * S + kh - p, ix = ox * S + kw - p;
                                if (iy >= 0 && iy < h && ix >= 0 && ix < w) s += wt[((o * c + i) * ks + kh) * ks + kw] * x[(i * h + iy) * w + ix];
                            }
                    expected[(o * ho + oy) * wo + ox] = s;
                }

        var image = ToFloat(x);
        // The phase image overwrites every float: start from garbage to prove it.
        var phases = new GuardedBuffer(plan.InputImage);
        phases.Span.Fill(float.NaN);
        var expanded = new float[conv.ExpandedLength];
        conv.ExpandWeights(ToFloat(wt), expanded);
        var packed = new GuardedBuffer(plan.WeightLength);
        plan.PackWeights(expanded, transposeAndFlip: false, packed.Pointer);
        var bias = new AlignedBuffer(k);
        ToFloat(b).CopyTo(bias.Span);
        // Guarded: a kernel writing past its output or statistics (e.g. a vector tail of K at 128 bits) fails here.
        var y = new GuardedBuffer(plan.OutputImage);
        var sum = new GuardedBuffer(k);
        var sumSq = new GuardedBuffer(k);
        fixed (float* src = image) conv.ToPhaseImage(src, phases.Pointer);
        plan.ForwardImage(phases.Pointer, packed.Pointer, bias.Pointer, y.Pointer, plan.OutputPlane, wo * 16, sum.Pointer, sumSq.Pointer, relu: false);
        GC.KeepAlive(bias);
        phases.AssertIntact("phase image");
        packed.AssertIntact("packed weights");
        y.AssertIntact("y");
        sum.AssertIntact("sum");
        sumSq.AssertIntact("sumSq");
        TensorAssert.Close(expected, FromBlocked(y.Span, k, ho, wo), Tolerance.Accumulated, "forward");
        AssertChannelSums(expected, sum.Span, sumSq.Span, k, ho * wo, sumStart: 0);
    }

    [Theory, MemberData(nameof(Cases))]
    public void BackwardInput_adds_the_double_reference(int c, int k, int ks, int p, int h, int w, int pathIndex)
    {
        var conv = new StridedConv2d(c, k, ks, p, S, h, w, (IsaLevel)pathIndex);
        var dxPlan = conv.InputGradientPlan;
        var rng = new Random(c * 7 + k + ks + p + w);
        int ho = Out(h, ks, p), wo = Out(w, ks, p);
        double[] wt = Random(rng, k * c * ks * ks), dy = Random(rng, k * ho * wo);
        var expected = new double[c * h * w];
        for (int i = 0; i < expected.Length; i++) expected[i] = 0.5; // the gradient is added to what is there
        for (int o = 0; o < k; o++)
            for (int oy = 0; oy < ho; oy++)
                for (int ox = 0; ox < wo; ox++)
                    for (int i = 0; i < c; i++)
                        for (int kh = 0; kh < ks; kh++)
                            for (int kw = 0; kw < ks; kw++)
                            {
                                int iy = oy * S + kh - p, ix = ox * S + kw - p;
                                if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                                expected[(i * h + iy) * w + ix] += dy[(o * ho + oy) * wo + ox] * wt[((o * c + i) * ks + kh) * ks + kw];
                            }

        var expanded = new float[conv.ExpandedLength];
        conv.ExpandWeights(ToFloat(wt), expanded);
        var packed = new GuardedBuffer(dxPlan.WeightLength);
        dxPlan.PackWeights(expanded, transposeAndFlip: true, packed.Pointer);
        var dyPad = ToPaddedBlocked(dy, k, ho, wo, dxPlan.Padding);
        var dphase = new GuardedBuffer(dxPlan.OutputImage);
        dxPlan.ForwardImage(dyPad.Pointer, packed.Pointer, null, dphase.Pointer, dxPlan.OutputPlane, dxPlan.OutWidth * 16, null, null, relu: false);
        packed.AssertIntact("packed weights");
        dphase.AssertIntact("phase gradient");
        Assert.Equal((conv.PhaseHeight, conv.PhaseWidth), (dxPlan.OutHeight, dxPlan.OutWidth));
        var dx = new float[c * h * w];
        Array.Fill(dx, 0.5f);
        fixed (float* d = dx) conv.AddInputGradient(dphase.Pointer, d);
        GC.KeepAlive(dyPad);
        GC.KeepAlive(dphase);
        TensorAssert.Close(expected, dx, Tolerance.Accumulated, "dx");
    }

    [Theory, MemberData(nameof(Cases))]
    public void AddInputGradient_interleaved_gives_the_bits_of_one_pass_per_phase(int c, int k, int ks, int p, int h, int w, int pathIndex)
    {
        var conv = new StridedConv2d(c, k, ks, p, S, h, w, (IsaLevel)pathIndex);
        var rng = new Random(c + k * 3 + ks * 5 + p * 7 + h * 11 + w * 13 + pathIndex);
        var dphase = new GuardedBuffer(conv.InputGradientPlan.OutputImage);
        for (int i = 0; i < dphase.Length; i++) dphase.Span[i] = (float)(rng.NextDouble() * 2 - 1);
        var start = new float[c * h * w];
        for (int i = 0; i < start.Length; i++) start[i] = (float)(rng.NextDouble() * 2 - 1);
        float[] Scatter(bool interleaved)
        {
            bool saved = StridedConv2d.InterleavedInputGradient;
            StridedConv2d.InterleavedInputGradient = interleaved;
            try
            {
                var dx = new GuardedBuffer(start.Length);
                start.CopyTo(dx.Span);
                conv.AddInputGradient(dphase.Pointer, dx.Pointer);
                dx.AssertIntact("dx");
                return dx.Span.ToArray();
            }
            finally
            {
                StridedConv2d.InterleavedInputGradient = saved;
            }
        }
        var perPhase = Scatter(false);
        var interleaved = Scatter(true);
        for (int i = 0; i < start.Length; i++)
            Assert.True(BitConverter.SingleToInt32Bits(perPhase[i]) == BitConverter.SingleToInt32Bits(interleaved[i]),
                $"dx[{i}]: {perPhase[i]} per phase, {interleaved[i]} interleaved");
        dphase.AssertIntact("phase gradient");
    }

    [Theory, MemberData(nameof(Cases))]
    public void BackwardWeight_matches_double_reference(int c, int k, int ks, int p, int h, int w, int pathIndex)
    {
        var conv = new StridedConv2d(c, k, ks, p, S, h, w, (IsaLevel)pathIndex);
        var plan = conv.Plan;
        var rng = new Random(c + k * 3 + ks * 5 + h);
        int ho = Out(h, ks, p), wo = Out(w, ks, p);
        var expected = new double[k * c * ks * ks];
        var acc = new GuardedBuffer(plan.WeightLength);
        var phases = new GuardedBuffer(plan.InputImage);
        for (int image = 0; image < 2; image++)
        {
            double[] x = Random(rng, c * h * w), dy = Random(rng, k * ho * wo);
            AddWeightGradReference(expected, x, dy, c, k, ks, p, h, w, ho, wo, stride: S);
            fixed (float* src = ToFloat(x)) conv.ToPhaseImage(src, phases.Pointer);
            var dyb = ToPaddedBlocked(dy, k, ho, wo, 0);
            plan.WeightGradImage(phases.Pointer, dyb.Pointer, plan.OutputPlane, wo * 16, acc.Pointer);
            GC.KeepAlive(dyb);
        }
        var expandedGrad = new float[conv.ExpandedLength];
        plan.UnpackWeightGrad([(nint)acc.Pointer], expandedGrad, accumulate: false);
        acc.AssertIntact("weight-gradient accumulator");
        phases.AssertIntact("phase image");
        var grad = new float[k * c * ks * ks];
        Array.Fill(grad, 1f);
        conv.GatherWeightGrad(expandedGrad, grad, accumulate: true);
        TensorAssert.Close(Array.ConvertAll(expected, v => v + 1), grad, Tolerance.Accumulated, "dW accumulated");
        conv.GatherWeightGrad(expandedGrad, grad, accumulate: false);
        TensorAssert.Close(expected, grad, Tolerance.Accumulated, "dW");
    }

    [Fact]
    public void Phase_split_shapes_and_bad_arguments()
    {
        var conv = new StridedConv2d(16, 32, 3, 1, 2, 32, 32, IsaLevel.Scalar);
        Assert.Equal((4, 2, 17, 17, 16, 16), (conv.Phases, conv.PhaseKernel, conv.PhaseHeight, conv.PhaseWidth, conv.OutHeight, conv.OutWidth));
        var projection = new StridedConv2d(16, 32, 1, 0, 2, 32, 32, IsaLevel.Scalar);
        Assert.Equal((1, 1, 16, 16), (projection.Phases, projection.PhaseKernel, projection.PhaseHeight, projection.OutHeight));
        Assert.Equal(16 * 32, projection.ExpandedLength); // a 1x1 strided conv costs exactly its own multiply-adds
        // Planar (an RGB stem: 4 phases x 3 channels < 16), forward only; 5 channels would make 20 phase channels.
        var stem = new StridedConv2d(3, 16, 7, 3, 2, 23, 23, IsaLevel.V256);
        Assert.Equal((12, 4, 15, 12), (stem.Plan.InChannels, stem.PhaseKernel, stem.PhaseHeight, stem.OutHeight));
        Assert.Throws<NotSupportedException>(() => stem.InputGradientPlan);
        var e = Assert.Throws<ArgumentException>(() => new StridedConv2d(5, 16, 3, 1, 2, 8, 8, IsaLevel.V256));
        Assert.Contains("5", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => new StridedConv2d(16, 16, 3, 1, 1, 8, 8, IsaLevel.V256));
        Assert.Throws<ArgumentException>(() => new StridedConv2d(16, 16, 5, 0, 2, 3, 3, IsaLevel.V256));
    }
}
