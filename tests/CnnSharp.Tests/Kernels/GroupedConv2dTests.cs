using CnnSharp.Kernels;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Kernels;

/// <summary>
/// The direct depthwise/grouped convolution against the float64 reference at every SIMD level: every stride phase
/// layout (strides 1-4, dilation, asymmetric padding), planes narrower and wider than a vector, channel multipliers,
/// the bias/residual/clamp epilogue, and bit-identical results for every thread count; backward-data (the transposed
/// convolution on an upsampled, possibly cropped input) and backward-weight against the float64 adjoint likewise.
/// </summary>
public sealed class GroupedConv2dTests
{
    public static TheoryData<int> Levels() => new() { (int)IsaLevel.Scalar, (int)IsaLevel.V128, (int)IsaLevel.V256, (int)IsaLevel.V512 };

    /// <summary>Depthwise and narrow grouped cases beyond <see cref="ConvCases.All"/>'s grouped ones.</summary>
    private static readonly ConvCase[] Cases =
    [
        new(2, 8, 14, 14, 8, 3, 3, (1, 1), (1, 1, 1, 1), (1, 1), 8, true),    // MobileNet 3x3 s1 (14 wide: below one V512 vector)
        new(1, 6, 15, 17, 6, 3, 3, (2, 2), (1, 1, 1, 1), (1, 1), 6, true),    // 3x3 s2, odd sizes
        new(1, 4, 40, 37, 4, 3, 3, (2, 2), (1, 1, 1, 1), (1, 1), 4, false),   // stride 2 wider than the AVX-512 deinterleave
        new(2, 5, 7, 7, 5, 5, 5, (1, 1), (2, 2, 2, 2), (1, 1), 5, true),      // 5x5 s1 on a 7x7 plane
        new(1, 3, 12, 11, 3, 5, 5, (2, 2), (2, 2, 2, 2), (1, 1), 3, true),    // 5x5 s2
        new(1, 4, 9, 10, 4, 3, 3, (2, 2), (0, 1, 1, 0), (1, 1), 4, true),     // odd left padding: phases swap
        new(1, 3, 10, 13, 6, 3, 3, (1, 1), (1, 1, 1, 1), (1, 1), 3, true),    // channel multiplier 2
        new(1, 4, 11, 12, 4, 3, 3, (2, 3), (2, 1, 0, 2), (2, 2), 4, true),    // dilation with stride, asymmetric padding
        new(2, 8, 9, 9, 4, 3, 3, (1, 1), (1, 1, 1, 1), (1, 1), 2, true),      // grouped: 4 channels per group
        new(1, 12, 6, 6, 6, 1, 1, (1, 1), (0, 0, 0, 0), (1, 1), 3, false),    // grouped pointwise
        new(1, 2, 3, 40, 2, 3, 3, (4, 4), (1, 1, 1, 1), (1, 1), 2, true),     // stride 4 (generic phase split)
        new(1, 2, 70, 66, 2, 3, 3, (1, 1), (1, 1, 1, 1), (1, 1), 2, true),    // several default strips
        new(3, 6, 9, 9, 6, 3, 3, (1, 1), (0, 0, 0, 0), (1, 1), 6, true),      // padding 0
        new(2, 4, 13, 11, 8, 5, 5, (2, 2), (2, 2, 2, 2), (1, 1), 4, true),    // 5x5 s2, multiplier 2
        new(2, 3, 11, 9, 3, 3, 3, (1, 1), (2, 2, 2, 2), (2, 2), 3, false),    // dilation 2, "same" padding
        new(1, 2, 5, 6, 2, 3, 3, (2, 2), (3, 3, 3, 3), (1, 1), 2, true),      // padding past the kernel: cropped transposed input
        new(9, 4, 6, 5, 8, 3, 3, (2, 1), (1, 0, 2, 1), (1, 1), 2, true),      // groups 2, 9 images (uneven weight chunks)
        new(10, 8, 5, 7, 8, 3, 3, (1, 1), (1, 1, 1, 1), (1, 1), 4, true),     // groups 4, more images than weight chunks
    ];

    private static IEnumerable<ConvCase> AllCases() => ConvCases.All.Where(c => c.Groups > 1).Concat(Cases);

    internal static float[] Residual(ConvCase c)
    {
        var g = c.Geometry;
        return GradCheck.RandomValues(g.N * g.K * g.OutH * g.OutW, 977);
    }

    private static float[] Run(ConvCase c, IsaLevel level, float min, float max, bool residual, int threads = 1, long threshold = long.MaxValue,
        int stripFloats = GroupedConv2d.DefaultStripFloats)
    {
        var g = c.Geometry;
        var y = new float[g.N * g.K * g.OutH * g.OutW];
        Array.Fill(y, float.NaN); // the output must be fully overwritten
        // Poison this thread's buffers: the kernel must zero what it reads.
        Scratch.GetSpan(Scratch.Slot.GroupedInput, 1 << 14).Fill(float.NaN);
        GroupedConv2d.Forward(ConvCases.Input(c), ConvCases.Weight(c), c.HasBias ? ConvCases.Bias(c) : default,
            residual ? Residual(c) : default, y, g, min, max, level, threads, threshold, stripFloats);
        return y;
    }

    internal static double[] Expected(ConvCase c, float min, float max, bool residual)
    {
        var y = ConvCases.Forward(c, TensorAssert.ToDouble(ConvCases.Input(c)), TensorAssert.ToDouble(ConvCases.Weight(c)),
            TensorAssert.ToDouble(ConvCases.Bias(c)));
        var r = residual ? Residual(c) : null;
        for (int i = 0; i < y.Length; i++)
            y[i] = Math.Min(Math.Max(y[i] + (r?[i] ?? 0), min), max);
        return y;
    }

    [Theory, MemberData(nameof(Levels))]
    public void Forward_matches_reference(int level)
    {
        // Whole planes in one strip (the default for these sizes), one output row per strip, and uneven strips.
        foreach (var c in AllCases())
            foreach (int strip in new[] { GroupedConv2d.DefaultStripFloats, 1, 37 })
                TensorAssert.Close(Expected(c, float.NegativeInfinity, float.PositiveInfinity, false),
                    Run(c, (IsaLevel)level, float.NegativeInfinity, float.PositiveInfinity, false, stripFloats: strip), Tolerance.Accumulated, $"{c} strip {strip}");
    }

    [Theory, MemberData(nameof(Levels))]
    public void Epilogue_adds_residual_then_clamps(int level)
    {
        foreach (var c in AllCases())
        {
            TensorAssert.Close(Expected(c, 0f, 0.5f, true), Run(c, (IsaLevel)level, 0f, 0.5f, true), Tolerance.Accumulated, $"{c} clip(0, 0.5) + residual");
            TensorAssert.Close(Expected(c, 0f, float.PositiveInfinity, false), Run(c, (IsaLevel)level, 0f, float.PositiveInfinity, false), Tolerance.Accumulated, $"{c} relu");
        }
    }

    [Fact]
    public void Results_are_identical_for_every_thread_count()
    {
        foreach (var c in AllCases())
        {
            var one = Run(c, Isa.Level, 0f, 6f, true);
            foreach (int threads in new[] { 2, 3, 5 })
                Assert.Equal(one, Run(c, Isa.Level, 0f, 6f, true, threads, threshold: 0));
            Assert.Equal(one, Run(c, Isa.Level, 0f, 6f, true, stripFloats: 1)); // strips change no sum
        }
    }

    private static (float[] Dx, float[] Dw) RunBackward(ConvCase c, IsaLevel level, int threads = 1, long threshold = long.MaxValue,
        int stripFloats = GroupedConv2d.DefaultStripFloats)
    {
        var g = c.Geometry;
        float[] x = ConvCases.Input(c), w = ConvCases.Weight(c), dy = GradCheck.RandomValues(g.N * g.K * g.OutH * g.OutW, 5);
        // The kernels accumulate: start from 1.
        var dx = Enumerable.Repeat(1f, x.Length).ToArray();
        var dw = Enumerable.Repeat(1f, w.Length).ToArray();
        Scratch.GetSpan(Scratch.Slot.GroupedInput, 1 << 14).Fill(float.NaN);
        Scratch.GetSpan(Scratch.Slot.GroupedOutput, 1 << 14).Fill(float.NaN);
        GroupedConv2d.BackwardInput(dy, w, dx, g, level, threads, threshold, stripFloats);
        GroupedConv2d.BackwardWeight(x, dy, dw, g, level, threads, threshold, stripFloats);
        return (dx, dw);
    }

    [Theory, MemberData(nameof(Levels))]
    public void Backward_matches_reference(int level)
    {
        foreach (var c in AllCases())
        {
            var g = c.Geometry;
            var dy = GradCheck.RandomValues(g.N * g.K * g.OutH * g.OutW, 5);
            var (dxRef, dwRef, _) = Reference.Conv2dBackward(TensorAssert.ToDouble(ConvCases.Input(c)), TensorAssert.ToDouble(ConvCases.Weight(c)),
                TensorAssert.ToDouble(dy), c.InputShape, c.WeightShape, c.Stride, c.Pads, c.Dilation, c.Groups);
            foreach (int strip in new[] { GroupedConv2d.DefaultStripFloats, 1, 37 })
            {
                var (dx, dw) = RunBackward(c, (IsaLevel)level, stripFloats: strip);
                TensorAssert.Close(dxRef.Select(v => v + 1).ToArray(), dx, Tolerance.Accumulated, $"dx {c} strip {strip}");
                TensorAssert.Close(dwRef.Select(v => v + 1).ToArray(), dw, Tolerance.Accumulated, $"dw {c} strip {strip}");
            }
        }
    }

    [Fact]
    public void Gradients_are_identical_for_every_thread_count()
    {
        foreach (var c in AllCases())
        {
            var (dx, dw) = RunBackward(c, Isa.Level);
            foreach (int threads in new[] { 2, 3, 5 })
            {
                var (dxT, dwT) = RunBackward(c, Isa.Level, threads, threshold: 0);
                Assert.Equal(dx, dxT);
                Assert.Equal(dw, dwT);
            }
        }
    }

    [Fact]
    public void Transposed_geometry_maps_the_output_back_onto_the_input()
    {
        foreach (var c in AllCases())
        {
            var g = c.Geometry;
            var t = GroupedConv2d.Transposed(g);
            // A stride-1 convolution over the upsampled dy ((OutH−1)·sH + 1 rows) with these paddings yields exactly H rows.
            Assert.Equal(g.H, (g.OutH - 1) * g.StrideH + 1 + t.PadTop + t.PadBottom - (g.KH - 1) * g.DilationH);
            Assert.Equal(g.W, (g.OutW - 1) * g.StrideW + 1 + t.PadLeft + t.PadRight - (g.KW - 1) * g.DilationW);
            Assert.Equal((g.C, g.K, g.KPerGroup, g.CPerGroup), (t.K, t.C, t.CPerGroup, t.KPerGroup));
        }
    }

    [Fact]
    public void Steady_state_calls_allocate_nothing()
    {
        var c = new ConvCase(2, 6, 9, 11, 12, 3, 3, (2, 2), (1, 1, 1, 1), (1, 1), 6, true);
        var g = c.Geometry;
        float[] x = ConvCases.Input(c), w = ConvCases.Weight(c), b = ConvCases.Bias(c);
        var y = new float[g.N * g.K * g.OutH * g.OutW];
        float[] dx = new float[x.Length], dw = new float[w.Length];
        void Step()
        {
            GroupedConv2d.Forward(x, w, b, default, y, g, 0f, 6f, Isa.Level, 1, long.MaxValue);
            GroupedConv2d.BackwardInput(y, w, dx, g, Isa.Level, 1, long.MaxValue);
            GroupedConv2d.BackwardWeight(x, y, dw, g, Isa.Level, 1, long.MaxValue);
        }
        Step();
        Step();
        long before = GC.GetAllocatedBytesForCurrentThread();
        Step();
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void Backward_rejects_mismatched_lengths()
    {
        var g = new ConvCase(1, 2, 4, 4, 2, 3, 3, (1, 1), (1, 1, 1, 1), (1, 1), 2, false).Geometry;
        Assert.Throws<ArgumentException>(() => GroupedConv2d.BackwardInput(new float[31], new float[18], new float[32], g));
        Assert.Throws<ArgumentException>(() => GroupedConv2d.BackwardInput(new float[32], new float[18], new float[33], g));
        Assert.Throws<ArgumentException>(() => GroupedConv2d.BackwardWeight(new float[32], new float[32], new float[17], g));
        Assert.Throws<ArgumentException>(() => GroupedConv2d.BackwardWeight(new float[32], new float[30], new float[18], g));
    }

    [Fact]
    public void NaN_passes_through_the_clamp()
    {
        var c = new ConvCase(1, 2, 4, 4, 2, 3, 3, (1, 1), (1, 1, 1, 1), (1, 1), 2, false);
        var g = c.Geometry;
        var x = ConvCases.Input(c);
        x[5] = float.NaN;
        var y = new float[g.N * g.K * g.OutH * g.OutW];
        GroupedConv2d.Forward(x, ConvCases.Weight(c), default, default, y, g, 0f, 6f, Isa.Level, 1, long.MaxValue);
        Assert.True(float.IsNaN(y[0]));
        Assert.All(y.Skip(16), v => Assert.InRange(v, 0f, 6f));
    }

    [Fact]
    public void Deinterleave_splits_even_and_odd_elements()
    {
        foreach (int count in new[] { 0, 1, 7, 16, 31, 32, 33, 70 })
        {
            var src = Enumerable.Range(0, count).Select(i => (float)i).ToArray();
            var even = new float[(count + 1) / 2];
            var odd = new float[count / 2 + 1];
            unsafe
            {
                fixed (float* s = src, e = even, o = odd) GroupedConv2d.Deinterleave(s, count, e, o);
            }
            Assert.Equal(Enumerable.Range(0, (count + 1) / 2).Select(i => 2f * i), even);
            Assert.Equal(Enumerable.Range(0, count / 2).Select(i => 2f * i + 1), odd.Take(count / 2));
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Deinterleave_writes_exactly_the_even_and_odd_elements_at_every_length(bool masked)
    {
        // GroupedConv2d.MaskedDeinterleave: the last < 32 elements in masked steps; nothing past either output may change.
        bool saved = GroupedConv2d.MaskedDeinterleave;
        try
        {
            GroupedConv2d.MaskedDeinterleave = masked;
            for (int count = 0; count <= 100; count++)
            {
                var src = Enumerable.Range(0, count).Select(i => (float)i).ToArray();
                var even = new float[(count + 1) / 2 + 20];
                var odd = new float[count / 2 + 20];
                Array.Fill(even, -1f);
                Array.Fill(odd, -1f);
                unsafe
                {
                    fixed (float* s = src, e = even, o = odd) GroupedConv2d.Deinterleave(s, count, e, o);
                }
                Assert.Equal(Enumerable.Range(0, (count + 1) / 2).Select(i => 2f * i).Concat(Enumerable.Repeat(-1f, 20)), even);
                Assert.Equal(Enumerable.Range(0, count / 2).Select(i => 2f * i + 1).Concat(Enumerable.Repeat(-1f, 20)), odd);
            }
        }
        finally
        {
            GroupedConv2d.MaskedDeinterleave = saved;
        }
    }

    [Fact]
    public void Mismatched_lengths_are_rejected()
    {
        var c = new ConvCase(1, 2, 4, 4, 2, 3, 3, (1, 1), (1, 1, 1, 1), (1, 1), 2, false);
        var g = c.Geometry;
        var y = new float[32];
        Assert.Throws<ArgumentException>(() => GroupedConv2d.Forward(new float[31], new float[18], default, default, y, g, 0f, 6f));
        Assert.Throws<ArgumentException>(() => GroupedConv2d.Forward(new float[32], new float[18], default, y, y, g, 0f, 6f));
    }

    [Fact]
    public void Prefers_depthwise_and_narrow_groups_only()
    {
        Assert.True(GroupedConv2d.Prefers(new ConvCase(1, 32, 8, 8, 32, 3, 3, (1, 1), (1, 1, 1, 1), (1, 1), 32, false).Geometry));
        Assert.True(GroupedConv2d.Prefers(new ConvCase(1, 32, 8, 8, 32, 3, 3, (1, 1), (1, 1, 1, 1), (1, 1), 4, false).Geometry));
        Assert.False(GroupedConv2d.Prefers(new ConvCase(1, 64, 8, 8, 64, 3, 3, (1, 1), (1, 1, 1, 1), (1, 1), 2, false).Geometry));
        Assert.False(GroupedConv2d.Prefers(new ConvCase(1, 32, 8, 8, 32, 3, 3, (1, 1), (1, 1, 1, 1), (1, 1), 1, false).Geometry));
    }
}
