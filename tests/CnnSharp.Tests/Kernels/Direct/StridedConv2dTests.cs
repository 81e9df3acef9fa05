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

    [Theory, MemberData(nameof(Cases))]
    public void BackwardWeight_skipping_zero_taps_gives_the_bits_of_every_tap(int c, int k, int ks, int p, int h, int w, int pathIndex)
    {
        var conv = new StridedConv2d(c, k, ks, p, S, h, w, (IsaLevel)pathIndex);
        var plan = conv.Plan;
        var rng = new Random(c + k * 3 + ks * 5 + p * 7 + h * 11 + w * 13 + pathIndex);
        int ho = Out(h, ks, p), wo = Out(w, ks, p), kp = conv.PhaseKernel;
        var phases = new GuardedBuffer(plan.InputImage);
        double[] x = Random(rng, c * h * w), dy = Random(rng, k * ho * wo);
        fixed (float* src = ToFloat(x)) conv.ToPhaseImage(src, phases.Pointer);
        var dyb = ToPaddedBlocked(dy, k, ho, wo, 0);
        // Both accumulators start at zero; a skipped entry stays +0 where the every-tap kernel sums the (nonzero) products of
        // x' and dy that GatherWeightGrad drops: exactly the expanded weight's zero taps must be skipped.
        float[] Accumulate(bool skip)
        {
            bool saved = DirectConv2d.SkipZeroTaps;
            DirectConv2d.SkipZeroTaps = skip;
            try
            {
                var acc = new GuardedBuffer(plan.WeightLength);
                plan.WeightGradImage(phases.Pointer, dyb.Pointer, plan.OutputPlane, wo * 16, acc.Pointer);
                acc.AssertIntact("weight-gradient accumulator");
                return acc.Span.ToArray();
            }
            finally
            {
                DirectConv2d.SkipZeroTaps = saved;
            }
        }
        var every = Accumulate(false);
        var skipping = Accumulate(true);
        int cp = plan.InChannels, skipped = 0;
        for (int i = 0; i < every.Length; i++)
        {
            // [kh][kw][C'][K]: phase channel ic' = phase·C + ic; tap (i, j) of phase (a, b) is tap (2i + a, 2j + b) of the kernel.
            int row = i / k, ti = row / (kp * cp), tj = row / cp % kp, phase = row % cp / c;
            bool zero = S * ti + phase / conv.PhaseSide >= ks || S * tj + phase % conv.PhaseSide >= ks;
            if (zero && c % 16 == 0)
            {
                Assert.True(BitConverter.SingleToInt32Bits(skipping[i]) == 0, $"acc[{i}] (zero tap {ti},{tj} of phase {phase}) was computed: {skipping[i]}");
                Assert.NotEqual(0f, every[i]);
                skipped++;
                continue;
            }
            Assert.True(BitConverter.SingleToInt32Bits(every[i]) == BitConverter.SingleToInt32Bits(skipping[i]),
                $"acc[{i}]: {every[i]} every tap, {skipping[i]} skipping zero taps");
        }
        Assert.Equal(plan.ZeroTaps is null ? 0 : plan.ZeroTaps.Count(z => z) * 16 * k, skipped);
        if (ks == 3) Assert.Equal(7 * c * k, skipped); // 3x3: 7 of the 16 phase taps are zero
        GC.KeepAlive(dyb);
        phases.AssertIntact("phase image");
    }

    /// <summary>Planar strided stems (forward only): an RGB 3x3 and a 7x7 stride-2 stem.</summary>
    public static TheoryData<int, int, int, int, int, int, int> PlanarCases() => OnEveryIsa((3, 16, 3, 1, 32, 32), (3, 32, 7, 3, 23, 21));

    [Theory, MemberData(nameof(Cases)), MemberData(nameof(PlanarCases))]
    public void Forward_and_input_gradient_skipping_zero_taps_give_the_bits_of_every_tap(int c, int k, int ks, int p, int h, int w, int pathIndex)
    {
        var conv = new StridedConv2d(c, k, ks, p, S, h, w, (IsaLevel)pathIndex);
        var plan = conv.Plan;
        var rng = new Random(c * 31 + k * 3 + ks * 5 + p * 7 + h * 11 + w * 13 + pathIndex);
        int ho = Out(h, ks, p), wo = Out(w, ks, p);
        double[] x = Random(rng, c * h * w), wt = Random(rng, k * c * ks * ks), b = Random(rng, k), dy = Random(rng, k * ho * wo);
        var expanded = new float[conv.ExpandedLength];
        conv.ExpandWeights(ToFloat(wt), expanded);
        var phases = new GuardedBuffer(plan.InputImage);
        fixed (float* src = ToFloat(x)) conv.ToPhaseImage(src, phases.Pointer);
        var packed = new GuardedBuffer(plan.WeightLength);
        plan.PackWeights(expanded, transposeAndFlip: false, packed.Pointer);
        var bias = new AlignedBuffer(k);
        ToFloat(b).CopyTo(bias.Span);
        // Each window covers exactly its phase's taps of the kernel: a 3x3 stride-2 conv's 4 + 2 + 2 + 1 of 4 x 4.
        int kp = conv.PhaseKernel, taps = 0;
        for (int i = 0; i < plan.TapWindows.Length; i += 4) taps += (plan.TapWindows[i + 1] - plan.TapWindows[i]) * (plan.TapWindows[i + 3] - plan.TapWindows[i + 2]);
        int perGroup = ks * ks * c / (c % 16 == 0 ? 16 : 1);
        Assert.Equal(ks == 3 || ks == 7 || ks == 5 ? plan.OutChannels / plan.GroupWidth * perGroup : 0, taps);

        float[] Run(bool skip, Func<float[]> body)
        {
            bool saved = DirectConv2d.SkipZeroTaps;
            DirectConv2d.SkipZeroTaps = skip;
            try { return body(); }
            finally { DirectConv2d.SkipZeroTaps = saved; }
        }
        float[] Forward()
        {
            var y = new GuardedBuffer(plan.OutputImage);
            var sum = new GuardedBuffer(k);
            var sumSq = new GuardedBuffer(k);
            plan.ForwardImage(phases.Pointer, packed.Pointer, bias.Pointer, y.Pointer, plan.OutputPlane, wo * 16, sum.Pointer, sumSq.Pointer, relu: true);
            y.AssertIntact("y");
            sum.AssertIntact("sum");
            sumSq.AssertIntact("sumSq");
            return [.. y.Span.ToArray(), .. sum.Span.ToArray(), .. sumSq.Span.ToArray()];
        }
        AssertSameBits(Run(false, Forward), Run(true, Forward), "forward");
        GC.KeepAlive(bias);
        if (c % 16 != 0) return; // planar: forward only

        var dxPlan = conv.InputGradientPlan;
        var packedT = new GuardedBuffer(dxPlan.WeightLength);
        dxPlan.PackWeights(expanded, transposeAndFlip: true, packedT.Pointer);
        var dyPad = ToPaddedBlocked(dy, k, ho, wo, dxPlan.Padding);
        float[] InputGradient()
        {
            var dphase = new GuardedBuffer(dxPlan.OutputImage);
            dxPlan.ForwardImage(dyPad.Pointer, packedT.Pointer, null, dphase.Pointer, dxPlan.OutputPlane, dxPlan.OutWidth * 16, null, null, relu: false);
            dphase.AssertIntact("phase gradient");
            return dphase.Span.ToArray();
        }
        AssertSameBits(Run(false, InputGradient), Run(true, InputGradient), "input gradient");
        GC.KeepAlive(dyPad);
        // 16-channel phases with zero taps take 16-channel output groups on AVX-512 (StridedConv2d.SinglePhaseGroups), so
        // groups of one phase each (C a multiple of the group width) read only that phase's taps: per input block, the
        // 4 + 2 + 2 + 1 taps of a 3x3 stride-2 conv's four phases over C / G groups each.
        if (ks == 3 && (IsaLevel)pathIndex == IsaLevel.V512 && StridedConv2d.SinglePhaseGroups) Assert.Equal(c % 32 == 0 ? 32 : 16, dxPlan.GroupWidth);
        if (ks == 3 && c % dxPlan.GroupWidth == 0)
        {
            taps = 0;
            for (int i = 0; i < dxPlan.TapWindows.Length; i += 4) taps += (dxPlan.TapWindows[i + 1] - dxPlan.TapWindows[i]) * (dxPlan.TapWindows[i + 3] - dxPlan.TapWindows[i + 2]);
            Assert.Equal(k / 16 * 9 * (c / dxPlan.GroupWidth), taps);
        }
        packed.AssertIntact("packed weights");
        packedT.AssertIntact("packed transposed weights");
        phases.AssertIntact("phase image");
    }

    private static void AssertSameBits(float[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(actual[i]) || (expected[i] == 0f && actual[i] == 0f),
                $"{what}[{i}]: {expected[i]} every tap, {actual[i]} skipping zero taps");
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
