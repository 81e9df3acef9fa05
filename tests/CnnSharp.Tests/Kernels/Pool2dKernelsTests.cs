using CnnSharp.Kernels;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Kernels;

public sealed class Pool2dKernelsTests
{
    private static Pool2dGeometry Geometry(int[] shape, int k, int s, int p = 0, int d = 1, bool ceil = false) =>
        Pool2dGeometry.Create(shape, (k, k), (s, s), (p, p), (d, d), ceil, "test");

    [Fact]
    public void Tap_range_matches_brute_force()
    {
        for (int start = -6; start <= 12; start++)
            for (int d = 1; d <= 4; d++)
                for (int k = 1; k <= 5; k++)
                    for (int size = 1; size <= 10; size++)
                    {
                        var inside = Enumerable.Range(0, k).Where(m => start + m * d >= 0 && start + m * d < size).ToArray();
                        var (first, end) = Pool2dKernels.TapRange(start, d, k, size);
                        Assert.Equal(inside, Enumerable.Range(first, end - first).ToArray());
                    }
    }

    [Fact]
    public void Max_forward_records_plane_relative_argmax()
    {
        // Two planes of 3x3; 2x2 windows with stride 1.
        float[] x = [1, 9, 2, 3, 4, 5, 8, 6, 7, /* plane 2 */ 0, 1, 2, 3, 4, 5, 6, 7, 8];
        var g = Geometry([1, 2, 3, 3], 2, 1);
        var y = new float[8];
        var arg = new int[8];
        Pool2dKernels.MaxForward(x, y, arg, g);
        Assert.Equal(new float[] { 9, 9, 8, 7, 4, 5, 7, 8 }, y);
        Assert.Equal(new[] { 1, 1, 6, 8, 4, 5, 7, 8 }, arg);
    }

    [Fact]
    public void Max_backward_accumulates_into_existing_gradient()
    {
        var g = Geometry([1, 1, 2, 2], 2, 2);
        float[] gradIn = [1, 1, 1, 1];
        Pool2dKernels.MaxBackward([5f], [3], gradIn, g);
        Assert.Equal(new float[] { 1, 1, 1, 6 }, gradIn);
    }

    [Fact]
    public void Avg_backward_accumulates_into_existing_gradient()
    {
        var g = Geometry([1, 1, 2, 2], 2, 2);
        float[] gradIn = [1, 1, 1, 1];
        Pool2dKernels.AvgBackward([4f], gradIn, g, countIncludePad: true, divisorOverride: 0);
        Assert.Equal(new float[] { 2, 2, 2, 2 }, gradIn);
    }

    [Fact]
    public void Avg_divisor_override_is_used_for_every_window()
    {
        var g = Geometry([1, 1, 3, 3], 2, 2, ceil: true); // windows of 4, 2, 2 and 1 taps
        var y = new float[4];
        Pool2dKernels.AvgForward([1, 2, 3, 4, 5, 6, 7, 8, 9], y, g, countIncludePad: false, divisorOverride: 2);
        Assert.Equal(new float[] { 6, 4.5f, 7.5f, 4.5f }, y);
    }

    [Fact]
    public void Many_planes_give_the_same_result_as_one_plane_at_a_time()
    {
        // 64 planes of 16x16 split across threads must equal the planes pooled separately.
        int planes = 64;
        var x = GradCheck.RandomValues(planes * 256, 5);
        var g = Geometry([planes, 1, 16, 16], 3, 2, 1, 1, ceil: true);
        var y = new float[planes * g.OutH * g.OutW];
        var arg = new int[y.Length];
        Pool2dKernels.MaxForward(x, y, arg, g);
        var single = Geometry([1, 1, 16, 16], 3, 2, 1, 1, ceil: true);
        int o = g.OutH * g.OutW;
        for (int p = 0; p < planes; p++)
        {
            var yp = new float[o];
            Pool2dKernels.MaxForward(x.AsSpan(p * 256, 256), yp, new int[o], single);
            Assert.Equal(yp, y.AsSpan(p * o, o).ToArray());
        }
    }
}
