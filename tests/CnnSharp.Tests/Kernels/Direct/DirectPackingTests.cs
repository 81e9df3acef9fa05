using CnnSharp.Kernels;
using CnnSharp.Kernels.Direct;

namespace CnnSharp.Tests.Kernels.Direct;

/// <summary>
/// <see cref="DirectConv2d.PackWeights"/> and its parts (<see cref="DirectConv2d.PackWeightsPart"/>, which training plans run
/// on several threads at once) place every weight where the panel layout [group][C/16][kh][kw][16][G] says, for forward
/// and transposed-and-flipped weights, blocked and planar inputs, one and two vectors per group, on every ISA path.
/// </summary>
public sealed unsafe class DirectPackingTests
{
    public static TheoryData<int, int, int, int, bool> Cases() => new()
    {
        { (int)IsaLevel.V512, 32, 64, 3, false },
        { (int)IsaLevel.V512, 16, 16, 3, true },
        { (int)IsaLevel.V512, 3, 16, 3, false },
        { (int)IsaLevel.V256, 64, 32, 1, true },
        { (int)IsaLevel.V128, 16, 48, 2, false },
        { (int)IsaLevel.Scalar, 48, 32, 3, true },
    };

    [Theory, MemberData(nameof(Cases))]
    public void Parts_place_every_weight_in_its_panel_slot(int level, int c, int k, int ks, bool transposeAndFlip)
    {
        var plan = new DirectConv2d(c, k, ks, ks / 2, 6, 6, (IsaLevel)level);
        var weight = new float[plan.WeightLength];
        for (int i = 0; i < weight.Length; i++) weight[i] = i + 1; // every weight distinct
        int g = plan.GroupWidth, s = plan.PixelStride;
        var expected = new float[plan.WeightLength];
        for (int oc = 0; oc < k; oc++)
            for (int ic = 0; ic < c; ic++)
                for (int kh = 0; kh < ks; kh++)
                    for (int kw = 0; kw < ks; kw++)
                    {
                        int grp = oc / g, cb = ic / s, si = ic % s;
                        long slot = ((((long)(grp * plan.InBlocks + cb) * ks + kh) * ks + kw) * s + si) * g + oc % g;
                        expected[slot] = transposeAndFlip
                            ? weight[((ic * k + oc) * ks + (ks - 1 - kh)) * ks + (ks - 1 - kw)]
                            : weight[((oc * c + ic) * ks + kh) * ks + kw];
                    }
        var packed = new AlignedBuffer(plan.WeightLength);
        foreach (int parts in new[] { 1, 2, 3, 5 })
        {
            packed.Span.Fill(float.NaN);
            for (int part = 0; part < parts; part++) plan.PackWeightsPart(weight, transposeAndFlip, packed.Pointer, part, parts);
            Assert.Equal(expected, packed.Span.ToArray());
        }
        Assert.Throws<ArgumentException>(() => plan.PackWeights(new float[plan.WeightLength - 1], transposeAndFlip, packed.Pointer));
        GC.KeepAlive(packed);
    }
}
