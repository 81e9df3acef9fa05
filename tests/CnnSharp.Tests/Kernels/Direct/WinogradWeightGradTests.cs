using CnnSharp.Kernels;
using CnnSharp.Kernels.Direct;
using CnnSharp.Tests.TestUtilities;
using static CnnSharp.Tests.Kernels.Direct.DirectConv2dTests;

namespace CnnSharp.Tests.Kernels.Direct;

/// <summary>
/// The Winograd-domain weight gradient (F(4x4, 3x3), F(2x2, 5x5)) against naive double loops over two images: odd output
/// sizes (partial edge tiles, whose out-of-range gradient must not count), several tile blocks, 1-6 channel GEMM runs,
/// then reduced and unpacked by <see cref="DirectConv2d.UnpackWeightGrad"/> as the conv chain does.
/// </summary>
public sealed unsafe class WinogradWeightGradTests
{
    // Error relative to the gradient's scale (max |want|); a wrong transform entry or a misplaced tile gives 1e-2 and more.
    private const double RelativeBound = 2e-5;

    /// <summary>(in, out, pad, height, width, kernel).</summary>
    public static TheoryData<int, int, int, int, int, int> Cases() => new()
    {
        { 16, 32, 1, 16, 16, 3 },   // 16 tiles, one block
        { 32, 16, 1, 23, 18, 3 },   // partial edge tiles, 30 tiles in two blocks
        { 48, 16, 0, 9, 6, 3 },     // valid padding, C split into 6-channel runs
        { 16, 16, 2, 14, 14, 5 },   // the seed ConvNet's conv1 shape (49 tiles)
        { 16, 32, 2, 7, 9, 5 },     // odd 5x5 output
    };

    /// <summary><see cref="Cases"/> with 8-lane (false) and 16-lane (true, <see cref="WinogradConv2d.Wide"/>) plans.</summary>
    public static TheoryData<int, int, int, int, int, int, bool> WidthCases()
    {
        var cases = new TheoryData<int, int, int, int, int, int, bool>();
        foreach (object[] a in Cases())
            foreach (bool wide in new[] { false, true })
                cases.Add((int)a[0]!, (int)a[1]!, (int)a[2]!, (int)a[3]!, (int)a[4]!, (int)a[5]!, wide);
        return cases;
    }

    [Theory, MemberData(nameof(WidthCases))]
    public void Weight_gradient_over_two_images_matches_double_reference(int c, int k, int p, int h, int w, int ks, bool wide)
    {
        var rng = new Random(c * 7 + k + p * 3 + h * 5 + w + ks);
        var conv = new WinogradConv2d(c, k, p, h, w, kernelSize: ks, wide: wide);
        var plan = new WinogradWeightGrad(conv);
        int ho = conv.OutHeight, wo = conv.OutWidth;
        var expected = new double[k * c * ks * ks];
        var acc = new GuardedBuffer(plan.AccumulatorLength);
        var scratch = new GuardedBuffer(plan.ScratchLength);
        for (int image = 0; image < 2; image++)
        {
            double[] x = Random(rng, c * h * w), dy = Random(rng, k * ho * wo);
            AddWeightGradReference(expected, x, dy, c, k, ks, p, h, w, ho, wo);
            var xb = ToPaddedBlocked(x, c, h, w, p);
            // The gradient inside a padded buffer whose border holds garbage: the kernel must read only Ho x Wo.
            int border = 2;
            var dyb = new AlignedBuffer(k / 16 * (ho + 2 * border) * (wo + 2 * border) * 16);
            dyb.Span.Fill(1e6f);
            nint row = (wo + 2 * border) * 16, plane = (ho + 2 * border) * row;
            for (int o = 0; o < k; o++)
                for (int oy = 0; oy < ho; oy++)
                    for (int ox = 0; ox < wo; ox++)
                        dyb.Span[(int)(o / 16 * plane + (oy + border) * row + (ox + border) * 16 + o % 16)] = (float)dy[(o * ho + oy) * wo + ox];
            plan.AccumulateImage(xb.Pointer, dyb.Pointer + border * row + border * 16, plane, row, acc.Pointer, scratch.Pointer);
            GC.KeepAlive(xb);
            GC.KeepAlive(dyb);
        }
        acc.AssertIntact("accumulator");
        scratch.AssertIntact("scratch");
        var direct = new GuardedBuffer(conv.WeightLength);
        direct.Span.Fill(float.NaN); // ToDirect overwrites every element
        plan.ToDirect(acc.Pointer, direct.Pointer);
        direct.AssertIntact("direct accumulator");
        var grad = new float[conv.WeightLength];
        new DirectConv2d(c, k, ks, p, h, w, IsaLevel.V256).UnpackWeightGrad([(nint)direct.Pointer], grad, accumulate: false);
        GC.KeepAlive(acc);
        GC.KeepAlive(scratch);
        GC.KeepAlive(direct);

        double scale = 0, worst = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            scale = Math.Max(scale, Math.Abs(expected[i]));
            worst = Math.Max(worst, Math.Abs(grad[i] - expected[i]));
        }
        Assert.True(worst <= RelativeBound * scale, $"dW: max error {worst:E3} > {RelativeBound:E0} x scale {scale:E3}");
    }
}
