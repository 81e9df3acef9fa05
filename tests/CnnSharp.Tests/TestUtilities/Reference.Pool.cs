namespace CnnSharp.Tests.TestUtilities;

/// <summary>Naive float64 references, written from the operators' definitions (not from the library's kernels).</summary>
public static partial class Reference
{
    /// <summary>Pooling settings for the references (symmetric padding).</summary>
    public sealed record PoolSpec(int KH, int KW, int SH, int SW, int PH, int PW, int DH = 1, int DW = 1, bool Ceil = false)
    {
        public override string ToString() => $"k({KH},{KW}) s({SH},{SW}) p({PH},{PW}) d({DH},{DW}) ceil {Ceil}";
    }

    /// <summary>
    /// PyTorch's pooling output size, from its documentation: <c>floor_or_ceil((in + 2p - d*(k-1) - 1)/s) + 1</c>,
    /// minus one in ceil mode when the last window would start in the end padding.
    /// </summary>
    public static int PoolOutputSize(int input, int k, int s, int p, int d, bool ceil)
    {
        double raw = (input + 2.0 * p - d * (k - 1.0) - 1.0) / s;
        int o = (int)(ceil ? Math.Ceiling(raw) : Math.Floor(raw)) + 1;
        if (ceil && (o - 1) * s >= input + p) o--;
        return o;
    }

    /// <summary>Max over the in-image taps of each dilated window (padding taps are ignored).</summary>
    public static double[] MaxPool2d(double[] x, int[] shape, PoolSpec k)
    {
        var (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3]);
        int oh = PoolOutputSize(h, k.KH, k.SH, k.PH, k.DH, k.Ceil), ow = PoolOutputSize(w, k.KW, k.SW, k.PW, k.DW, k.Ceil);
        var y = new double[n * c * oh * ow];
        for (int p = 0; p < n * c; p++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++)
                {
                    double best = double.NegativeInfinity;
                    for (int a = 0; a < k.KH; a++)
                        for (int b = 0; b < k.KW; b++)
                        {
                            int r = i * k.SH - k.PH + a * k.DH, col = j * k.SW - k.PW + b * k.DW;
                            if (r >= 0 && r < h && col >= 0 && col < w) best = Math.Max(best, x[(p * h + r) * w + col]);
                        }
                    y[(p * oh + i) * ow + j] = best;
                }
        return y;
    }

    /// <summary>
    /// Average pooling by counting taps: each window's k*k taps are classified as inside the image (summed, counted for
    /// countIncludePad = false), inside the padded image [-p, size+p) (counted for countIncludePad = true) or beyond it
    /// (a ceil-mode overhang, never counted).
    /// </summary>
    public static double[] AvgPool2d(double[] x, int[] shape, PoolSpec k, bool countIncludePad = true, int? divisorOverride = null)
    {
        var (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3]);
        int oh = PoolOutputSize(h, k.KH, k.SH, k.PH, 1, k.Ceil), ow = PoolOutputSize(w, k.KW, k.SW, k.PW, 1, k.Ceil);
        var y = new double[n * c * oh * ow];
        for (int p = 0; p < n * c; p++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++)
                {
                    double sum = 0;
                    int inImage = 0, inPadded = 0;
                    for (int a = 0; a < k.KH; a++)
                        for (int b = 0; b < k.KW; b++)
                        {
                            int r = i * k.SH - k.PH + a, col = j * k.SW - k.PW + b;
                            bool rowPadded = r >= -k.PH && r < h + k.PH, colPadded = col >= -k.PW && col < w + k.PW;
                            if (rowPadded && colPadded) inPadded++;
                            if (r >= 0 && r < h && col >= 0 && col < w)
                            {
                                inImage++;
                                sum += x[(p * h + r) * w + col];
                            }
                        }
                    double divisor = divisorOverride ?? (countIncludePad ? inPadded : inImage);
                    y[(p * oh + i) * ow + j] = inImage == 0 ? 0 : sum / divisor;
                }
        return y;
    }

    /// <summary>PyTorch's lp_pool2d definition: <c>(avg_pool2d(x^p, k, s, ceil_mode) * kH*kW)^(1/p)</c>.</summary>
    public static double[] LpPool2d(double[] x, int[] shape, double normType, PoolSpec k)
    {
        var powered = x.Select(v => Math.Pow(v, normType)).ToArray();
        var avg = AvgPool2d(powered, shape, k);
        return avg.Select(v => Math.Pow(v * k.KH * k.KW, 1 / normType)).ToArray();
    }

    /// <summary>Adaptive window bounds written with floating point: [floor(i*in/out), ceil((i+1)*in/out)).</summary>
    public static (int Start, int End) AdaptiveWindow(int i, int input, int output) =>
        ((int)Math.Floor((double)i * input / output), (int)Math.Ceiling((double)(i + 1) * input / output));

    public static double[] AdaptiveAvgPool2d(double[] x, int[] shape, int oh, int ow) => Adaptive(x, shape, oh, ow, max: false);

    public static double[] AdaptiveMaxPool2d(double[] x, int[] shape, int oh, int ow) => Adaptive(x, shape, oh, ow, max: true);

    private static double[] Adaptive(double[] x, int[] shape, int oh, int ow, bool max)
    {
        var (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3]);
        var y = new double[n * c * oh * ow];
        for (int p = 0; p < n * c; p++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++)
                {
                    var (h0, h1) = AdaptiveWindow(i, h, oh);
                    var (w0, w1) = AdaptiveWindow(j, w, ow);
                    var vals = new List<double>();
                    for (int r = h0; r < h1; r++)
                        for (int col = w0; col < w1; col++)
                            vals.Add(x[(p * h + r) * w + col]);
                    y[(p * oh + i) * ow + j] = max ? vals.Max() : vals.Average();
                }
        return y;
    }
}
