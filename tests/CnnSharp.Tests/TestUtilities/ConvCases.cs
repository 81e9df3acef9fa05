namespace CnnSharp.Tests.TestUtilities;

/// <summary>One convolution configuration: shapes, per-side padding, stride, dilation, groups, bias; values are seeded.</summary>
public sealed record ConvCase(int N, int C, int H, int W, int K, int KH, int KW, (int H, int W) Stride,
    (int T, int L, int B, int R) Pads, (int H, int W) Dilation, int Groups, bool HasBias)
{
    public int[] InputShape => [N, C, H, W];
    public int[] WeightShape => [K, C / Groups, KH, KW];
    public int InputSize => N * C * H * W;
    public int WeightSize => K * (C / Groups) * KH * KW;

    public Conv2dGeometry Geometry => Conv2dGeometry.Create(InputShape, WeightShape, Stride, Pads, Dilation, Groups);

    public override string ToString() =>
        $"x({N},{C},{H},{W}) w({K},{C / Groups},{KH},{KW}) s{Stride} p{Pads} d{Dilation} g{Groups} bias={HasBias}";
}

/// <summary>
/// The convolution table shared by kernel and functional tests: strides, per-side and asymmetric padding, dilation, groups
/// (including depthwise), non-square images and kernels, 1x1 (the GEMM-only path), kernels as large as the padded input,
/// with and without bias, batches above 1.
/// </summary>
public static class ConvCases
{
    public static readonly ConvCase[] All =
    [
        new(2, 3, 7, 6, 4, 3, 3, (1, 1), (0, 0, 0, 0), (1, 1), 1, true),
        new(2, 2, 8, 8, 3, 3, 3, (2, 2), (1, 1, 1, 1), (1, 1), 1, false),
        new(1, 4, 9, 7, 6, 3, 2, (2, 1), (1, 0, 1, 0), (1, 1), 2, true),
        new(3, 4, 6, 6, 4, 3, 3, (1, 1), (1, 1, 1, 1), (1, 1), 4, true),   // depthwise
        new(2, 2, 10, 9, 2, 3, 3, (1, 1), (2, 2, 2, 2), (2, 2), 1, true),  // dilation with "same" padding
        new(2, 3, 5, 8, 2, 2, 3, (1, 2), (0, 1, 2, 0), (1, 1), 1, true),   // asymmetric padding
        new(2, 6, 6, 5, 6, 1, 1, (1, 1), (0, 0, 0, 0), (1, 1), 3, true),   // pointwise, grouped
        new(2, 4, 6, 6, 8, 1, 1, (1, 1), (0, 0, 0, 0), (1, 1), 1, false),  // pointwise
        new(1, 1, 12, 12, 2, 5, 5, (1, 1), (2, 2, 2, 2), (1, 1), 1, true), // the seed's conv1 in small
        new(2, 4, 7, 7, 5, 5, 5, (1, 1), (2, 2, 2, 2), (1, 1), 1, true),   // the seed's conv2 in small
        new(2, 2, 9, 11, 3, 3, 5, (3, 2), (1, 2, 1, 2), (1, 1), 1, true),
        new(1, 3, 8, 6, 3, 2, 2, (2, 2), (0, 0, 0, 0), (1, 1), 3, false),  // depthwise, strided
        new(2, 2, 7, 7, 4, 3, 3, (2, 3), (0, 0, 1, 1), (2, 1), 2, true),
        new(2, 1, 4, 4, 1, 3, 3, (2, 2), (1, 1, 1, 1), (1, 1), 1, false),  // the seed's example geometry
        new(3, 2, 5, 5, 2, 5, 5, (1, 1), (0, 0, 0, 0), (1, 1), 1, true),   // kernel = input: 1x1 output
        new(1, 2, 3, 9, 3, 1, 4, (1, 3), (0, 2, 0, 1), (1, 2), 1, true),
        new(2, 3, 6, 7, 3, 4, 3, (1, 1), (3, 0, 0, 2), (1, 1), 1, false),  // padding only on two sides
        new(2, 4, 5, 6, 2, 2, 2, (1, 1), (1, 1, 1, 1), (3, 2), 2, true),
        new(1, 6, 4, 4, 4, 3, 3, (1, 1), (1, 1, 1, 1), (1, 1), 2, true),
        new(2, 2, 1, 9, 2, 1, 3, (1, 1), (0, 1, 0, 1), (1, 1), 1, true),   // height 1 (the Conv1d shape)
        new(2, 3, 6, 6, 2, 3, 3, (4, 4), (1, 1, 1, 1), (1, 1), 1, true),   // stride larger than the kernel
        new(2, 2, 6, 6, 3, 2, 2, (1, 1), (0, 0, 0, 0), (1, 1), 1, true),   // even kernel
        new(1, 2, 3, 3, 2, 3, 3, (1, 1), (2, 2, 2, 2), (1, 1), 1, true),   // padding wider than half the kernel
        new(2, 3, 7, 9, 6, 3, 3, (2, 2), (1, 1, 1, 1), (1, 1), 3, true),   // depthwise, multiplier 2, stride 2, odd sizes
        new(1, 4, 8, 7, 4, 3, 3, (1, 1), (2, 2, 2, 2), (2, 2), 4, false),  // depthwise, dilation 2
        new(2, 2, 5, 6, 2, 3, 3, (2, 1), (3, 3, 3, 3), (1, 1), 2, true),   // depthwise, padding past the kernel
    ];

    public static TheoryData<int> Indices()
    {
        var data = new TheoryData<int>();
        for (int i = 0; i < All.Length; i++) data.Add(i);
        return data;
    }

    // Seeds derived from the sizes (record hash codes of tuples are randomised per process).
    private static int Seed(ConvCase c) => c.N * 7 + c.C * 31 + c.H * 131 + c.W * 1031 + c.K * 7919 + c.KH * 17 + c.KW * 19;

    public static float[] Input(ConvCase c) => GradCheck.RandomValues(c.InputSize, Seed(c));
    public static float[] Weight(ConvCase c) => GradCheck.RandomValues(c.WeightSize, Seed(c) + 1);
    public static float[] Bias(ConvCase c) => GradCheck.RandomValues(c.K, Seed(c) + 2);

    public static double[] Forward(ConvCase c, double[] x, double[] w, double[]? b) =>
        Reference.Conv2d(x, w, c.HasBias ? b : null, c.InputShape, c.WeightShape, c.Stride, c.Pads, c.Dilation, c.Groups, out _);
}
