using CnnSharp.Compile;
using CnnSharp.Compile.Ops;
using CnnSharp.Kernels;
using CnnSharp.Tests.TestUtilities;
using Xunit;

namespace CnnSharp.Tests.Kernels;

/// <summary>The 2x2/2 average-pooling kernels against a double-precision reference, on every ISA level.</summary>
public sealed class AvgPool2x2KernelsTests
{
    public static TheoryData<int> Levels() => new() { (int)IsaLevel.Scalar, (int)IsaLevel.V128, (int)IsaLevel.V256, (int)IsaLevel.V512 };

    // Widths exercise every vector width and the scalar tail; odd sizes leave the last row / column unread (floor mode).
    private static readonly (int H, int W)[] Sizes = [(28, 28), (10, 10), (7, 9), (2, 2), (4, 70), (3, 33)];

    [Theory]
    [MemberData(nameof(Levels))]
    public void Forward_matches_the_double_reference(int level)
    {
        foreach (var (h, w) in Sizes)
        {
            const int planes = 3;
            var x = GradCheck.RandomValues(planes * h * w, seed: h * 100 + w);
            var y = new float[planes * (h / 2) * (w / 2)];
            Array.Fill(y, float.NaN);
            AvgPool2x2Kernels.Forward((IsaLevel)level, x, y, h, w, 0, planes);
            for (int p = 0; p < planes; p++)
                for (int i = 0; i < h / 2; i++)
                    for (int j = 0; j < w / 2; j++)
                    {
                        int b = p * h * w + 2 * i * w + 2 * j;
                        double expected = ((double)x[b] + x[b + 1] + x[b + w] + x[b + w + 1]) / 4;
                        Assert.Equal(expected, y[(p * (h / 2) + i) * (w / 2) + j], 1e-6);
                    }
        }
    }

    [Theory]
    [MemberData(nameof(Levels))]
    public void Backward_accumulates_a_quarter_of_each_output_gradient_into_its_window(int level)
    {
        foreach (var (h, w) in Sizes)
        {
            const int planes = 2;
            var dy = GradCheck.RandomValues(planes * (h / 2) * (w / 2), seed: h + w);
            var dx = GradCheck.RandomValues(planes * h * w, seed: 7);
            var before = (float[])dx.Clone();
            AvgPool2x2Kernels.Backward((IsaLevel)level, dy, dx, h, w, 0, planes);
            for (int p = 0; p < planes; p++)
                for (int r = 0; r < h; r++)
                    for (int c = 0; c < w; c++)
                    {
                        int i = p * h * w + r * w + c;
                        double expected = before[i];
                        if (r < h / 2 * 2 && c < w / 2 * 2) expected += dy[(p * (h / 2) + r / 2) * (w / 2) + c / 2] / 4.0;
                        Assert.Equal(expected, dx[i], 1e-6);
                    }
        }
    }

    [Fact]
    public void Every_level_and_every_plane_split_gives_the_same_bits()
    {
        const int planes = 5, h = 28, w = 28;
        var x = GradCheck.RandomValues(planes * h * w, seed: 3);
        var dy = GradCheck.RandomValues(planes * 14 * 14, seed: 4);
        float[]? y0 = null, dx0 = null;
        foreach (var level in new[] { IsaLevel.Scalar, IsaLevel.V128, IsaLevel.V256, IsaLevel.V512 })
            for (int split = 0; split <= planes; split++)
            {
                var y = new float[planes * 14 * 14];
                var dx = new float[planes * h * w];
                AvgPool2x2Kernels.Forward(level, x, y, h, w, 0, split);
                AvgPool2x2Kernels.Forward(level, x, y, h, w, split, planes);
                AvgPool2x2Kernels.Backward(level, dy, dx, h, w, split, planes);
                AvgPool2x2Kernels.Backward(level, dy, dx, h, w, 0, split);
                y0 ??= y;
                dx0 ??= dx;
                Assert.Equal(y0, y);
                Assert.Equal(dx0, dx);
            }
    }

    [Fact]
    public void Backward_matches_finite_differences_of_the_forward()
    {
        // Pooling is linear, so central differences are exact up to rounding: d(sum(dy·y))/dx = the backward's dx.
        const int h = 6, w = 5, planes = 6;
        var x = GradCheck.RandomValues(planes * h * w, seed: 11);
        var dy = GradCheck.RandomValues(planes * (h / 2) * (w / 2), seed: 12);
        var dx = new float[x.Length];
        AvgPool2x2Kernels.Backward(IsaLevel.Scalar, dy, dx, h, w, 0, planes);
        var y = new float[dy.Length];
        double Objective(float[] input)
        {
            AvgPool2x2Kernels.Forward(Isa.Level, input, y, h, w, 0, planes);
            double s = 0;
            for (int i = 0; i < y.Length; i++) s += (double)dy[i] * y[i];
            return s;
        }
        const float eps = 1e-2f;
        for (int i = 0; i < x.Length; i++)
        {
            float keep = x[i];
            x[i] = keep + eps;
            double up = Objective(x);
            x[i] = keep - eps;
            double down = Objective(x);
            x[i] = keep;
            Assert.Equal((up - down) / (2 * eps), dx[i], 1e-3);
        }
    }

    [Fact]
    public void LeNet5_plans_both_of_its_poolings_on_the_op()
    {
        var model = CnnSharp.Models.LeNet5.Create(generator: new Generator(1));
        model.Train();
        var plan = model.Compile(4, 1, 28, 28).Describe(4, 1, 28, 28);
        Assert.Equal(2, plan.Split('\n').Count(l => l.StartsWith("AvgPool2x2 ", StringComparison.Ordinal)));
    }

    [Fact]
    public void Plans_use_the_op_only_for_2x2_stride_2_unpadded_pooling()
    {
        var g = Pool2dGeometry.Create([4, 6, 28, 28], (2, 2), (2, 2), (0, 0), (1, 1), ceilMode: false, "test");
        Assert.True(AvgPool2x2Op.Takes(new AvgPool2dSpec(g, true, 0)));
        Assert.False(AvgPool2x2Op.Takes(new AvgPool2dSpec(g, true, 3)));
        Assert.False(AvgPool2x2Op.Takes(new AvgPool2dSpec(Pool2dGeometry.Create([4, 6, 28, 28], (2, 2), (2, 2), (1, 1), (1, 1), false, "test"), true, 0)));
        Assert.False(AvgPool2x2Op.Takes(new AvgPool2dSpec(Pool2dGeometry.Create([4, 6, 28, 28], (3, 3), (2, 2), (0, 0), (1, 1), false, "test"), true, 0)));
        Assert.False(AvgPool2x2Op.Takes(new AvgPool2dSpec(Pool2dGeometry.Create([4, 6, 7, 7], (2, 2), (2, 2), (0, 0), (1, 1), ceilMode: true, "test"), true, 0)));
    }
}
