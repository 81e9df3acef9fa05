namespace CnnSharp.Tests.TestUtilities;

/// <summary>
/// Naive float64 references, written as the formulas read and deliberately free of any cleverness, so they can serve as
/// oracles for the library's blocked float32 kernels and as the function finite differences are taken of.
/// </summary>
public static partial class Reference
{
    /// <summary>
    /// <c>C[i,j] = Σ_p op(A)[i,p]·op(B)[p,j]</c> with op(A) M×K (A stored M×K row stride lda, or K×M when transposed) and
    /// op(B) K×N (B stored K×N row stride ldb, or N×K when transposed). Returns C as M×N, row-major.
    /// </summary>
    public static double[] Gemm(bool transA, bool transB, int m, int n, int k,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb)
    {
        var c = new double[m * n];
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double s = 0;
                for (int p = 0; p < k; p++)
                {
                    double av = transA ? a[p * lda + i] : a[i * lda + p];
                    double bv = transB ? b[j * ldb + p] : b[p * ldb + j];
                    s += av * bv;
                }
                c[i * n + j] = s;
            }
        }
        return c;
    }

    /// <summary>
    /// PyTorch's conv2d (cross-correlation) with per-side zero padding:
    /// <c>y[n,k,oh,ow] = b[k] + Σ_{c<C/G, i<KH, j<KW} x[n, g*C/G + c, oh*sH - pT + i*dH, ow*sW - pL + j*dW] · w[k, c, i, j]</c>,
    /// g = k / (K/G), terms outside the input counting as zero.
    /// </summary>
    /// <param name="x">Input, shape (N, C, H, W).</param>
    /// <param name="w">Weight, shape (K, C/G, KH, KW).</param>
    /// <param name="b">Bias of length K, or null.</param>
    /// <param name="xs">Input shape.</param>
    /// <param name="ws">Weight shape.</param>
    /// <param name="stride">(sH, sW).</param>
    /// <param name="pads">(top, left, bottom, right).</param>
    /// <param name="dilation">(dH, dW).</param>
    /// <param name="groups">G.</param>
    /// <param name="outShape">Receives (N, K, OH, OW).</param>
    public static double[] Conv2d(double[] x, double[] w, double[]? b, int[] xs, int[] ws,
        (int H, int W) stride, (int T, int L, int B, int R) pads, (int H, int W) dilation, int groups, out int[] outShape)
    {
        int n = xs[0], c = xs[1], h = xs[2], wd = xs[3];
        int k = ws[0], cg = ws[1], kh = ws[2], kw = ws[3];
        int oh = (h + pads.T + pads.B - dilation.H * (kh - 1) - 1) / stride.H + 1;
        int ow = (wd + pads.L + pads.R - dilation.W * (kw - 1) - 1) / stride.W + 1;
        int kg = k / groups;
        outShape = [n, k, oh, ow];
        var y = new double[n * k * oh * ow];
        for (int ni = 0; ni < n; ni++)
        for (int ki = 0; ki < k; ki++)
        for (int yi = 0; yi < oh; yi++)
        for (int xi = 0; xi < ow; xi++)
        {
            double s = b is null ? 0 : b[ki];
            int g = ki / kg;
            for (int ci = 0; ci < cg; ci++)
            for (int i = 0; i < kh; i++)
            for (int j = 0; j < kw; j++)
            {
                int ih = yi * stride.H - pads.T + i * dilation.H;
                int iw = xi * stride.W - pads.L + j * dilation.W;
                if (ih < 0 || ih >= h || iw < 0 || iw >= wd) continue;
                s += x[((ni * c + g * cg + ci) * h + ih) * wd + iw] * w[((ki * cg + ci) * kh + i) * kw + j];
            }
            y[((ni * k + ki) * oh + yi) * ow + xi] = s;
        }
        return y;
    }

    /// <summary>Conv2d with symmetric padding; see the per-side overload.</summary>
    public static double[] Conv2d(double[] x, double[] w, double[]? b, int[] xs, int[] ws,
        (int H, int W) stride, (int H, int W) padding, (int H, int W) dilation, int groups, out int[] outShape) =>
        Conv2d(x, w, b, xs, ws, stride, (padding.H, padding.W, padding.H, padding.W), dilation, groups, out outShape);

    /// <summary>
    /// PyTorch's conv1d: <c>y[n,k,o] = b[k] + Σ_{c<C/G, j<KL} x[n, g*C/G + c, o*s - p + j*d] · w[k, c, j]</c>.
    /// </summary>
    public static double[] Conv1d(double[] x, double[] w, double[]? b, int[] xs, int[] ws, int stride, int padding, int dilation, int groups)
    {
        int n = xs[0], c = xs[1], l = xs[2];
        int k = ws[0], cg = ws[1], kl = ws[2];
        int ol = (l + 2 * padding - dilation * (kl - 1) - 1) / stride + 1;
        int kg = k / groups;
        var y = new double[n * k * ol];
        for (int ni = 0; ni < n; ni++)
        for (int ki = 0; ki < k; ki++)
        for (int o = 0; o < ol; o++)
        {
            double s = b is null ? 0 : b[ki];
            int g = ki / kg;
            for (int ci = 0; ci < cg; ci++)
            for (int j = 0; j < kl; j++)
            {
                int il = o * stride - padding + j * dilation;
                if (il < 0 || il >= l) continue;
                s += x[(ni * c + g * cg + ci) * l + il] * w[(ki * cg + ci) * kl + j];
            }
            y[(ni * k + ki) * ol + o] = s;
        }
        return y;
    }

    /// <summary>PyTorch's linear: <c>y[r,o] = b[o] + Σ_i x[r,i] · w[o,i]</c> for x (rows, in), w (out, in).</summary>
    public static double[] Linear(double[] x, double[] w, double[]? b, int rows, int inFeatures, int outFeatures)
    {
        var y = new double[rows * outFeatures];
        for (int r = 0; r < rows; r++)
        for (int o = 0; o < outFeatures; o++)
        {
            double s = b is null ? 0 : b[o];
            for (int i = 0; i < inFeatures; i++) s += x[r * inFeatures + i] * w[o * inFeatures + i];
            y[r * outFeatures + o] = s;
        }
        return y;
    }

    /// <summary>
    /// Adjoints of <see cref="Conv2d(double[], double[], double[], int[], int[], ValueTuple{int, int}, ValueTuple{int, int, int, int}, ValueTuple{int, int}, int, out int[])"/>
    /// for an upstream gradient dy (N, K, OH, OW): returns (dx, dw, db) by scattering every product term of the forward sum.
    /// </summary>
    public static (double[] Dx, double[] Dw, double[] Db) Conv2dBackward(double[] x, double[] w, double[] dy, int[] xs, int[] ws,
        (int H, int W) stride, (int T, int L, int B, int R) pads, (int H, int W) dilation, int groups)
    {
        int n = xs[0], c = xs[1], h = xs[2], wd = xs[3];
        int k = ws[0], cg = ws[1], kh = ws[2], kw = ws[3];
        int oh = (h + pads.T + pads.B - dilation.H * (kh - 1) - 1) / stride.H + 1;
        int ow = (wd + pads.L + pads.R - dilation.W * (kw - 1) - 1) / stride.W + 1;
        int kg = k / groups;
        var dx = new double[x.Length];
        var dw = new double[w.Length];
        var db = new double[k];
        for (int ni = 0; ni < n; ni++)
        for (int ki = 0; ki < k; ki++)
        for (int yi = 0; yi < oh; yi++)
        for (int xi = 0; xi < ow; xi++)
        {
            double g = dy[((ni * k + ki) * oh + yi) * ow + xi];
            db[ki] += g;
            int grp = ki / kg;
            for (int ci = 0; ci < cg; ci++)
            for (int i = 0; i < kh; i++)
            for (int j = 0; j < kw; j++)
            {
                int ih = yi * stride.H - pads.T + i * dilation.H;
                int iw = xi * stride.W - pads.L + j * dilation.W;
                if (ih < 0 || ih >= h || iw < 0 || iw >= wd) continue;
                int xIndex = ((ni * c + grp * cg + ci) * h + ih) * wd + iw;
                int wIndex = ((ki * cg + ci) * kh + i) * kw + j;
                dx[xIndex] += g * w[wIndex];
                dw[wIndex] += g * x[xIndex];
            }
        }
        return (dx, dw, db);
    }
}
