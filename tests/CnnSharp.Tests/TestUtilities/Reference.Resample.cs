namespace CnnSharp.Tests.TestUtilities;

public static partial class Reference
{
    /// <summary>
    /// PyTorch's conv_transpose2d as a scatter, straight from the definition: every input pixel adds
    /// <c>x[n, c, ih, iw] · w[c, o, i, j]</c> to <c>y[n, g·Og + o, ih·sH − pH + i·dH, iw·sW − pW + j·dW]</c> (dropped outside),
    /// g = c / (C/G); then the bias. Output <c>(H − 1)·s − 2p + d·(K − 1) + op + 1</c> per axis.
    /// </summary>
    public static (double[] Y, int[] Shape) ConvTranspose2d(double[] x, int[] xs, double[] w, int[] ws, double[]? b,
        (int H, int W) s, (int H, int W) p, (int H, int W) op, (int H, int W) d, int groups)
    {
        int n = xs[0], c = xs[1], h = xs[2], wd = xs[3];
        int og = ws[1], kh = ws[2], kw = ws[3], o = og * groups, cg = c / groups;
        int oh = (h - 1) * s.H - 2 * p.H + d.H * (kh - 1) + op.H + 1;
        int ow = (wd - 1) * s.W - 2 * p.W + d.W * (kw - 1) + op.W + 1;
        var y = new double[n * o * oh * ow];
        for (int b0 = 0; b0 < n; b0++)
            for (int ci = 0; ci < c; ci++)
                for (int ih = 0; ih < h; ih++)
                    for (int iw = 0; iw < wd; iw++)
                    {
                        double v = x[((b0 * c + ci) * h + ih) * wd + iw];
                        int g = ci / cg;
                        for (int oc = 0; oc < og; oc++)
                            for (int i = 0; i < kh; i++)
                                for (int j = 0; j < kw; j++)
                                {
                                    int yh = ih * s.H - p.H + i * d.H, yw = iw * s.W - p.W + j * d.W;
                                    if (yh < 0 || yh >= oh || yw < 0 || yw >= ow) continue;
                                    y[((b0 * o + g * og + oc) * oh + yh) * ow + yw] += v * w[((ci * og + oc) * kh + i) * kw + j];
                                }
                    }
        if (b is not null)
            for (int i = 0; i < y.Length; i++) y[i] += b[i / (oh * ow) % o];
        return (y, [n, o, oh, ow]);
    }

    /// <summary>
    /// Bilinear resize of (N, C, H, W) from its definition: the source coordinate per axis is
    /// <c>dst·(in−1)/(out−1)</c> (align corners) or <c>max((dst + 0.5)·step − 0.5, 0)</c> with step = 1/scale or in/out,
    /// and the value is the area-weighted mix of the two neighbours per axis (the upper clamped to the last pixel).
    /// </summary>
    public static double[] Bilinear(double[] x, int[] xs, int outH, int outW, bool alignCorners, double? scaleH = null, double? scaleW = null)
    {
        int n = xs[0] * xs[1], h = xs[2], w = xs[3];
        var y = new double[n * outH * outW];
        for (int p = 0; p < n; p++)
            for (int i = 0; i < outH; i++)
                for (int j = 0; j < outW; j++)
                {
                    double sy = Source(i, h, outH, alignCorners, scaleH), sx = Source(j, w, outW, alignCorners, scaleW);
                    int y0 = (int)Math.Floor(sy), x0 = (int)Math.Floor(sx);
                    double fy = sy - y0, fx = sx - x0;
                    double At(int r, int col) => x[(p * h + Math.Min(r, h - 1)) * w + Math.Min(col, w - 1)];
                    y[(p * outH + i) * outW + j] = (1 - fy) * ((1 - fx) * At(y0, x0) + fx * At(y0, x0 + 1))
                        + fy * ((1 - fx) * At(y0 + 1, x0) + fx * At(y0 + 1, x0 + 1));
                }
        return y;
    }

    private static double Source(int dst, int inSize, int outSize, bool alignCorners, double? scale)
    {
        if (alignCorners) return outSize > 1 ? dst * (inSize - 1.0) / (outSize - 1) : 0;
        double step = scale is { } s ? 1 / s : (double)inSize / outSize;
        return Math.Max((dst + 0.5) * step - 0.5, 0);
    }

    /// <summary>Nearest resize: output (i, j) copies input (min(floor(i·stepH), H−1), min(floor(j·stepW), W−1)) with step = in/out.</summary>
    public static double[] Nearest(double[] x, int[] xs, int outH, int outW)
    {
        int n = xs[0] * xs[1], h = xs[2], w = xs[3];
        var y = new double[n * outH * outW];
        for (int p = 0; p < n; p++)
            for (int i = 0; i < outH; i++)
                for (int j = 0; j < outW; j++)
                {
                    int si = Math.Min(i * h / outH, h - 1), sj = Math.Min(j * w / outW, w - 1);
                    y[(p * outH + i) * outW + j] = x[(p * h + si) * w + sj];
                }
        return y;
    }

    /// <summary>
    /// Normalisation of consecutive blocks of <paramref name="blockLength"/> values (GroupNorm: one sample's group;
    /// LayerNorm: one trailing block) with the biased variance, then <c>·γ[a] + β[a]</c> with
    /// <c>a = (index / repeat) mod γ.Length</c>.
    /// </summary>
    public static double[] BlockNorm(double[] x, int blockLength, double[]? gamma, double[]? beta, int repeat, double eps)
    {
        var y = new double[x.Length];
        for (int start = 0; start < x.Length; start += blockLength)
        {
            var block = x.AsSpan(start, blockLength).ToArray();
            double mean = block.Average();
            double variance = block.Select(v => (v - mean) * (v - mean)).Average();
            for (int j = 0; j < blockLength; j++)
            {
                int e = start + j;
                double v = (x[e] - mean) / Math.Sqrt(variance + eps);
                if (gamma is not null) v *= gamma[e / repeat % gamma.Length];
                if (beta is not null) v += beta[e / repeat % beta.Length];
                y[e] = v;
            }
        }
        return y;
    }
}
