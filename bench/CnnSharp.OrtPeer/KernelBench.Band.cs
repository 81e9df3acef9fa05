using System.Globalization;
using CnnSharp.Kernels;

namespace CnnSharp.OrtPeer;

internal static unsafe partial class KernelBench
{
    /// <summary>
    /// One band of MobileNet-v2's 14x14 inverted-residual blocks as batch 1 on 2 threads runs them (<c>--band</c>): each
    /// thread's unit is 7 output rows, whose expansion reads 8 rows. Its pieces on one thread, in thread CPU time, best of
    /// <paramref name="reps"/>, next to the FMA peak: the expansion of 8 rows (and of 7, the halo's cost), the depthwise
    /// conv of 7 rows, the projection of 98 pixels (and of 96, the 2-column edge's cost), and the whole unit.
    /// </summary>
    public static void Band(int reps)
    {
        double peak = PeakTable("One 7-row band of the 14x14 blocks", "piece", reps);
        foreach (var (c, e, k) in new[] { (64, 384, 64), (96, 576, 96) })
        {

            const int H = 14, W = 14, Rows = 7;
            var gp = Conv2dGeometry.Create([1, c, H, W], [e, c, 1, 1], (1, 1), (0, 0, 0, 0), (1, 1), 1, "pw");
            var gd = Conv2dGeometry.Create([1, e, H, W], [e, 1, 3, 3], (1, 1), (1, 1, 1, 1), (1, 1), e, "dw");
            var gj = Conv2dGeometry.Create([1, e, H, W], [k, e, 1, 1], (1, 1), (0, 0, 0, 0), (1, 1), 1, "pj");
            var pw = new PackedConvWeights(Random(e * c, 1), e, c, 1, 1, 1, Isa.Level);
            var pj = new PackedConvWeights(Random(k * e, 2), k, e, 1, 1, 1, Isa.Level);
            float[] x = Random(c * H * W, 3), pb = Random(e, 4), dw = Random(e * 9, 5), db = Random(e, 6), jb = Random(k, 7), r = Random(k * H * W, 8);
            var z = new float[k * H * W];
            nint plane = ((Rows + 2) * W + 15) & ~15, bandPlane = (Rows * W + 15) & ~15;
            var exp = GC.AllocateArray<float>((int)(plane * e) + 64, pinned: true);
            var band = GC.AllocateArray<float>((int)(bandPlane * e), pinned: true);
            string shape = $"{c}->{e}->{k}";
            fixed (float* px = x, ppb = pb, pdw = dw, pdb = db, pjb = jb, pr = r, pz = z, pe = exp, pband = band)
            {
                float* xp = px, ppbp = ppb, pdwp = pdw, pdbp = pdb, pjbp = pjb, prp = pr, pzp = pz, pep = pe, pbp = pband;
                double s = Best(reps, () => PointwiseConv.Block(pw, xp, H * W, pep, plane, null, ppbp, 0, (Rows + 1) * W, 0, e, true, 6f));
                Row("expansion, 8 rows (112 px)", shape, s, 2.0 * e * c * (Rows + 1) * W, peak);
                s = Best(reps, () => PointwiseConv.Block(pw, xp, H * W, pep, plane, null, ppbp, 0, Rows * W, 0, e, true, 6f));
                Row("expansion, 7 rows (98 px)", shape, s, 2.0 * e * c * Rows * W, peak);
                s = Best(reps, () => DepthwiseConv3x3.ForwardRows(pep, plane, pdwp, pdbp, pbp, bandPlane, gd, 0, Rows, 0f, 6f, Isa.Level));
                Row("depthwise, 7 rows", shape, s, 2.0 * e * 9 * Rows * W, peak);
                s = Best(reps, () => PointwiseConv.Block(pj, pbp, bandPlane, pzp, H * W, prp, pjbp, 0, Rows * W, 0, k, false, float.PositiveInfinity));
                Row("projection, 98 px", shape, s, 2.0 * k * e * Rows * W, peak);
                Gemm.ThinEdges = false;
                s = Best(reps, () => PointwiseConv.Block(pj, pbp, bandPlane, pzp, H * W, prp, pjbp, 0, Rows * W, 0, k, false, float.PositiveInfinity));
                Gemm.ThinEdges = true;
                Row("projection, 98 px, thin edge off", shape, s, 2.0 * k * e * Rows * W, peak);
                s = Best(reps, () => PointwiseConv.Block(pj, pbp, bandPlane, pzp, H * W, prp, pjbp, 0, 96, 0, k, false, float.PositiveInfinity));
                Row("projection, 96 px", shape, s, 2.0 * k * e * 96, peak);
                var projection = new ExpandDepthwise.Projection(pj, pjbp, prp, pzp, gj, false, float.PositiveInfinity);
                s = Best(reps, () => ExpandDepthwise.Forward(xp, pw, ppbp, true, 6f, pdwp, pdbp, 0f, 6f, null, gp, gd, Isa.Level, 1,
                    projection: projection, partsPerImage: 2)) / 2;
                Row("whole unit (2 units / 2)", shape, s, 2.0 * (e * c * (Rows + 1) * W + e * 9 * Rows * W + k * e * Rows * W), peak);
                ExpandDepthwise.InPlaceRows = false;
                s = Best(reps, () => ExpandDepthwise.Forward(xp, pw, ppbp, true, 6f, pdwp, pdbp, 0f, 6f, null, gp, gd, Isa.Level, 1,
                    projection: projection, partsPerImage: 2)) / 2;
                ExpandDepthwise.InPlaceRows = true;
                Row("whole unit, depthwise copying its rows", shape, s, 2.0 * (e * c * (Rows + 1) * W + e * 9 * Rows * W + k * e * Rows * W), peak);
                s = Best(reps, () => ExpandDepthwise.Forward(xp, pw, ppbp, true, 6f, pdwp, pdbp, 0f, 6f, null, gp, gd, Isa.Level, 1,
                    projection: projection, bandRows: H)) / 2;
                Row("whole image, 1 band (/2)", shape, s, 2.0 * (e * c * H * W + e * 9 * H * W + k * e * H * W) / 2, peak);
            }
            pw.KeepAlive();
            pj.KeepAlive();
        }
    }
}
