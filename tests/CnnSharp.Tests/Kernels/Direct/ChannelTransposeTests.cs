using System.Runtime.Intrinsics.X86;
using CnnSharp.Kernels.Direct;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Kernels.Direct;

/// <summary>
/// The 16-channel transposes between channel-major rows and blocked pixels (<see cref="ChannelTranspose"/>) and the
/// layout conversions built on them (<see cref="BlockedLayout"/>), on the scalar and the vector path, against index-by-index
/// reference loops: every float named moved (or added) exactly, every other float of the destination untouched,
/// nothing written outside the buffers.
/// </summary>
public sealed unsafe class ChannelTransposeTests
{
    /// <summary>Pixel counts around the 8-pixel vector tiles (short, exact, with tails), unit and stride-2 steps, both
    /// modes, on both paths (the vector one runs only where the CPU has AVX; elsewhere both run the scalar loop).</summary>
    public static TheoryData<int, int, bool, bool> Cases()
    {
        var data = new TheoryData<int, int, bool, bool>();
        foreach (bool vector in new[] { false, true })
            foreach (int step in new[] { 1, 2 })
                foreach (bool accumulate in new[] { false, true })
                    foreach (int count in new[] { 1, 7, 8, 9, 15, 16, 17, 28, 49 })
                        data.Add(count, step, accumulate, vector);
        return data;
    }

    // Channel rows a few floats longer than the pixels need, so a row's neighbours are checked too.
    private static long Stride(int count, int step) => (long)step * (count - 1) + 1 + 3;

    // The rows' buffer ends exactly at channel 15's last pixel: any write past it hits the guard.
    private static int RowsLength(int count, int step) => (int)(15 * Stride(count, step) + (long)step * (count - 1) + 1);

    private static float[] Values(Random rng, int n)
    {
        var v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float)(rng.NextDouble() * 4 - 2);
        if (n > 3) v[3] = -0f; // a negative zero keeps its sign when only moved
        return v;
    }

    [Theory, MemberData(nameof(Cases))]
    public void ToBlocked_moves_each_float_of_the_sixteen_rows(int count, int step, bool accumulate, bool vector)
    {
        var rng = new Random(count * 31 + step * 7 + (accumulate ? 1 : 0));
        long stride = Stride(count, step);
        var src = new GuardedBuffer(RowsLength(count, step));
        var dst = new GuardedBuffer(count * 16);
        Values(rng, src.Length).CopyTo(src.Span);
        var before = Values(rng, dst.Length);
        before.CopyTo(dst.Span);
        var expected = (float[])before.Clone();
        for (int c = 0; c < 16; c++)
            for (int j = 0; j < count; j++)
            {
                float s = src.Span[(int)(c * stride + (long)j * step)];
                expected[j * 16 + c] = accumulate ? expected[j * 16 + c] + s : s;
            }
        ChannelTranspose.ToBlocked(src.Pointer, stride, step, dst.Pointer, count, accumulate, vector);
        src.AssertIntact("rows");
        dst.AssertIntact("blocked");
        AssertBits(expected, dst.Span.ToArray());
    }

    [Theory, MemberData(nameof(Cases))]
    public void FromBlocked_moves_each_pixel_and_keeps_the_floats_between(int count, int step, bool accumulate, bool vector)
    {
        var rng = new Random(count * 17 + step * 5 + (accumulate ? 1 : 0));
        long stride = Stride(count, step);
        var src = new GuardedBuffer(count * 16);
        var dst = new GuardedBuffer(RowsLength(count, step));
        Values(rng, src.Length).CopyTo(src.Span);
        var before = Values(rng, dst.Length);
        before.CopyTo(dst.Span);
        var expected = (float[])before.Clone();
        for (int c = 0; c < 16; c++)
            for (int j = 0; j < count; j++)
            {
                int at = (int)(c * stride + (long)j * step);
                float s = src.Span[j * 16 + c];
                expected[at] = accumulate ? expected[at] + s : s;
            }
        ChannelTranspose.FromBlocked(src.Pointer, dst.Pointer, stride, step, count, accumulate, vector);
        src.AssertIntact("blocked");
        dst.AssertIntact("rows");
        AssertBits(expected, dst.Span.ToArray());
    }

    [Theory]
    [InlineData(8)]
    [InlineData(16)]
    [InlineData(24)]
    public void AddFromBlockedInterleaved_adds_each_phase_into_its_columns_only(int pixels)
    {
        if (!Avx.IsSupported) return; // vector-only kernel: callers take FromBlocked's scalar loop without AVX
        var rng = new Random(pixels);
        long stride = 2 * pixels + 5; // a few floats between the rows, which must keep their bits
        var even = new GuardedBuffer(pixels * 16);
        var odd = new GuardedBuffer(pixels * 16);
        var dst = new GuardedBuffer((int)(15 * stride + 2 * pixels));
        Values(rng, even.Length).CopyTo(even.Span);
        Values(rng, odd.Length).CopyTo(odd.Span);
        var before = Values(rng, dst.Length);
        before.CopyTo(dst.Span);
        var expected = (float[])before.Clone();
        for (int c = 0; c < 16; c++)
            for (int j = 0; j < pixels; j++)
            {
                expected[(int)(c * stride) + 2 * j] += even.Span[j * 16 + c];
                expected[(int)(c * stride) + 2 * j + 1] += odd.Span[j * 16 + c];
            }
        ChannelTranspose.AddFromBlockedInterleaved(even.Pointer, odd.Pointer, dst.Pointer, stride, pixels);
        even.AssertIntact("even");
        odd.AssertIntact("odd");
        dst.AssertIntact("rows");
        AssertBits(expected, dst.Span.ToArray());
    }

    /// <summary>(channels, height, width): whole blocks, a planar remainder, widths below, at and above the tiles.</summary>
    public static TheoryData<int, int, int, bool> LayoutCases()
    {
        var data = new TheoryData<int, int, int, bool>();
        foreach (bool vector in new[] { false, true })
        {
            data.Add(16, 28, 28, vector);
            data.Add(32, 7, 7, vector);
            data.Add(48, 3, 5, vector);
            data.Add(19, 6, 9, vector);
            data.Add(3, 8, 8, vector);
        }
        return data;
    }

    [Theory, MemberData(nameof(LayoutCases))]
    public void BlockedLayout_conversions_agree_with_index_loops_on_both_paths(int channels, int h, int w, bool vector)
    {
        bool saved = ChannelTranspose.Enabled;
        ChannelTranspose.Enabled = vector;
        try
        {
            var rng = new Random(channels * 100 + h * 10 + w);
            int q = h * w, blocks = (channels + 15) / 16;
            var nchw = new GuardedBuffer(channels * q);
            Values(rng, nchw.Length).CopyTo(nchw.Span);

            // [C][q] → [C/16][q][16]: the channels present written, the padding channels of a partial block untouched.
            var blocked = new GuardedBuffer(blocks * q * 16);
            var fill = Values(rng, blocked.Length);
            fill.CopyTo(blocked.Span);
            var expectedBlocked = (float[])fill.Clone();
            for (int c = 0; c < channels; c++)
                for (int i = 0; i < q; i++) expectedBlocked[(c / 16 * q + i) * 16 + c % 16] = nchw.Span[c * q + i];
            BlockedLayout.FromChannelMajor(nchw.Pointer, blocked.Pointer, channels, q);
            blocked.AssertIntact("blocked");
            AssertBits(expectedBlocked, blocked.Span.ToArray());

            // And back, overwriting, then adding.
            var back = new GuardedBuffer(channels * q);
            BlockedLayout.ToChannelMajor(blocked.Pointer, back.Pointer, channels, q);
            back.AssertIntact("back");
            AssertBits(nchw.Span.ToArray(), back.Span.ToArray());
            var sum = nchw.Span.ToArray();
            for (int i = 0; i < sum.Length; i++) sum[i] += nchw.Span[i];
            BlockedLayout.ToChannelMajor(blocked.Pointer, back.Pointer, channels, q, accumulate: true);
            AssertBits(sum, back.Span.ToArray());

            // Into a padded interior (pad 1), from channel 0 and from a block boundary: borders untouched.
            int pw = w + 2, plane = (h + 2) * pw * 16;
            for (int first = 0; first < channels; first += 16)
            {
                var padded = new GuardedBuffer(blocks * plane);
                var pfill = Values(rng, padded.Length);
                pfill.CopyTo(padded.Span);
                var expectedPadded = (float[])pfill.Clone();
                for (int c = first; c < channels; c++)
                    for (int r = 0; r < h; r++)
                        for (int x = 0; x < w; x++)
                            expectedPadded[c / 16 * plane + ((r + 1) * pw + x + 1) * 16 + c % 16] = nchw.Span[(c * h + r) * w + x];
                BlockedLayout.ToBlockedInterior(nchw.Pointer, padded.Pointer + pw * 16 + 16, first, channels - first, h, w, plane, pw * 16);
                padded.AssertIntact("padded");
                AssertBits(expectedPadded, padded.Span.ToArray());
            }
        }
        finally
        {
            ChannelTranspose.Enabled = saved;
        }
    }

    [Fact]
    public void The_vector_path_is_taken_where_the_cpu_has_avx()
    {
        bool saved = ChannelTranspose.Enabled;
        try
        {
            ChannelTranspose.Enabled = true;
            Assert.Equal(Avx.IsSupported, ChannelTranspose.Vectorised);
            ChannelTranspose.Enabled = false;
            Assert.False(ChannelTranspose.Vectorised);
        }
        finally
        {
            ChannelTranspose.Enabled = saved;
        }
    }

    private static void AssertBits(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
                Assert.Fail($"float {i}: expected {expected[i]:R}, got {actual[i]:R}");
    }
}
