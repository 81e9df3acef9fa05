namespace CnnSharp.Tests.Training.Fast;

/// <summary>
/// The seed ConvNet (conv-BN-ReLU-maxpool twice, linear, mean cross-entropy) as naive double-precision loops over NCHW:
/// forward in training or eval mode, backward to every parameter, PyTorch's running-statistics update. Slow; batch 2-4.
/// </summary>
internal sealed class ConvNetReference
{
    public const double Eps = 1e-5, Momentum = 0.1;

    public required int C1, C2, K1, K2, S, Classes;
    public required double[] W1, B1, G1, Be1, Rm1, Rv1, W2, B2, G2, Be2, Rm2, Rv2, Wfc, Bfc;

    public int Features => C2 * (S / 4) * (S / 4);

    /// <summary>Gradients and updated statistics of one training step.</summary>
    public sealed class StepResult
    {
        public double Loss;
        public double[] DW1 = [], DB1 = [], DG1 = [], DBe1 = [], DW2 = [], DB2 = [], DG2 = [], DBe2 = [], DWfc = [], DBfc = [];
        public double[] Rm1 = [], Rv1 = [], Rm2 = [], Rv2 = [];
    }

    /// <summary>Eval-mode logits (BN with running statistics), shape (N, Classes).</summary>
    public double[] EvalLogits(double[] x, int n)
    {
        var y1 = Conv(x, n, 1, S, W1, B1, C1, K1);
        var z1 = Affine(y1, n, C1, S * S, Rm1, Rv1, G1, Be1);
        var p1 = Pool(Relu(z1), n, C1, S, out _);
        var y2 = Conv(p1, n, C1, S / 2, W2, B2, C2, K2);
        var z2 = Affine(y2, n, C2, S * S / 4, Rm2, Rv2, G2, Be2);
        var p2 = Pool(Relu(z2), n, C2, S / 2, out _);
        return Linear(p2, n);
    }

    /// <summary>One training step on images x (N, 1, S, S) with labels.</summary>
    public StepResult TrainStep(double[] x, int n, int[] labels)
    {
        var r = new StepResult();
        int hw1 = S * S, hw2 = S * S / 4;
        var y1 = Conv(x, n, 1, S, W1, B1, C1, K1);
        var (mean1, var1) = Moments(y1, n, C1, hw1);
        var z1 = Affine(y1, n, C1, hw1, mean1, var1, G1, Be1);
        var p1 = Pool(Relu(z1), n, C1, S, out var arg1);
        var y2 = Conv(p1, n, C1, S / 2, W2, B2, C2, K2);
        var (mean2, var2) = Moments(y2, n, C2, hw2);
        var z2 = Affine(y2, n, C2, hw2, mean2, var2, G2, Be2);
        var p2 = Pool(Relu(z2), n, C2, S / 2, out var arg2);
        var logits = Linear(p2, n);

        var dl = new double[n * Classes];
        for (int i = 0; i < n; i++)
        {
            double max = double.NegativeInfinity;
            for (int k = 0; k < Classes; k++) max = Math.Max(max, logits[i * Classes + k]);
            double sum = 0;
            for (int k = 0; k < Classes; k++) sum += Math.Exp(logits[i * Classes + k] - max);
            double lse = max + Math.Log(sum);
            r.Loss += (lse - logits[i * Classes + labels[i]]) / n;
            for (int k = 0; k < Classes; k++) dl[i * Classes + k] = Math.Exp(logits[i * Classes + k] - lse) / n;
            dl[i * Classes + labels[i]] -= 1.0 / n;
        }
        int f = Features;
        r.DWfc = new double[Classes * f];
        r.DBfc = new double[Classes];
        var dp2 = new double[n * f];
        for (int i = 0; i < n; i++)
            for (int k = 0; k < Classes; k++)
            {
                double d = dl[i * Classes + k];
                r.DBfc[k] += d;
                for (int j = 0; j < f; j++)
                {
                    r.DWfc[k * f + j] += d * p2[i * f + j];
                    dp2[i * f + j] += d * Wfc[k * f + j];
                }
            }
        var dz2 = ReluBack(PoolBack(dp2, arg2, n * C2 * hw2), z2);
        var dy2 = BnBack(dz2, y2, n, C2, hw2, mean2, var2, G2, out r.DG2, out r.DBe2);
        var dp1 = ConvBack(dy2, p1, n, C1, S / 2, W2, C2, K2, out r.DW2, out r.DB2, needInput: true);
        var dz1 = ReluBack(PoolBack(dp1, arg1, n * C1 * hw1), z1);
        var dy1 = BnBack(dz1, y1, n, C1, hw1, mean1, var1, G1, out r.DG1, out r.DBe1);
        ConvBack(dy1, x, n, 1, S, W1, C1, K1, out r.DW1, out r.DB1, needInput: false);

        r.Rm1 = Running(Rm1, mean1);
        r.Rv1 = Running(Rv1, Array.ConvertAll(var1, v => v * n * hw1 / (n * hw1 - 1.0)));
        r.Rm2 = Running(Rm2, mean2);
        r.Rv2 = Running(Rv2, Array.ConvertAll(var2, v => v * n * hw2 / (n * hw2 - 1.0)));
        return r;
    }

    private static double[] Running(double[] old, double[] batch)
    {
        var r = new double[old.Length];
        for (int c = 0; c < old.Length; c++) r[c] = (1 - Momentum) * old[c] + Momentum * batch[c];
        return r;
    }

    // y[n][o][h][w] = b[o] + sum w[o][i][kh][kw] * x[n][i][h + kh - p][w + kw - p], p = k / 2 ("same").
    private static double[] Conv(double[] x, int n, int cin, int s, double[] w, double[] b, int cout, int k)
    {
        int p = k / 2;
        var y = new double[n * cout * s * s];
        for (int img = 0; img < n; img++)
            for (int o = 0; o < cout; o++)
                for (int h = 0; h < s; h++)
                    for (int wd = 0; wd < s; wd++)
                    {
                        double acc = b[o];
                        for (int i = 0; i < cin; i++)
                            for (int kh = 0; kh < k; kh++)
                            {
                                int ih = h + kh - p;
                                if (ih < 0 || ih >= s) continue;
                                for (int kw = 0; kw < k; kw++)
                                {
                                    int iw = wd + kw - p;
                                    if (iw < 0 || iw >= s) continue;
                                    acc += w[((o * cin + i) * k + kh) * k + kw] * x[((img * cin + i) * s + ih) * s + iw];
                                }
                            }
                        y[((img * cout + o) * s + h) * s + wd] = acc;
                    }
        return y;
    }

    private static double[] ConvBack(double[] dy, double[] x, int n, int cin, int s, double[] w, int cout, int k,
        out double[] dw, out double[] db, bool needInput)
    {
        int p = k / 2;
        dw = new double[cout * cin * k * k];
        db = new double[cout];
        var dx = needInput ? new double[n * cin * s * s] : [];
        for (int img = 0; img < n; img++)
            for (int o = 0; o < cout; o++)
                for (int h = 0; h < s; h++)
                    for (int wd = 0; wd < s; wd++)
                    {
                        double g = dy[((img * cout + o) * s + h) * s + wd];
                        db[o] += g;
                        for (int i = 0; i < cin; i++)
                            for (int kh = 0; kh < k; kh++)
                            {
                                int ih = h + kh - p;
                                if (ih < 0 || ih >= s) continue;
                                for (int kw = 0; kw < k; kw++)
                                {
                                    int iw = wd + kw - p;
                                    if (iw < 0 || iw >= s) continue;
                                    int xi = ((img * cin + i) * s + ih) * s + iw, wi = ((o * cin + i) * k + kh) * k + kw;
                                    dw[wi] += g * x[xi];
                                    if (needInput) dx[xi] += g * w[wi];
                                }
                            }
                    }
        return dx;
    }

    private static (double[] Mean, double[] Var) Moments(double[] y, int n, int c, int hw)
    {
        var mean = new double[c];
        var var = new double[c];
        for (int ch = 0; ch < c; ch++)
        {
            double s = 0;
            for (int i = 0; i < n; i++) for (int j = 0; j < hw; j++) s += y[(i * c + ch) * hw + j];
            mean[ch] = s / (n * hw);
            double q = 0;
            for (int i = 0; i < n; i++) for (int j = 0; j < hw; j++) { double d = y[(i * c + ch) * hw + j] - mean[ch]; q += d * d; }
            var[ch] = q / (n * hw);
        }
        return (mean, var);
    }

    private static double[] Affine(double[] y, int n, int c, int hw, double[] mean, double[] var, double[] gamma, double[] beta)
    {
        var z = new double[y.Length];
        for (int i = 0; i < n; i++)
            for (int ch = 0; ch < c; ch++)
            {
                double inv = 1 / Math.Sqrt(var[ch] + Eps);
                for (int j = 0; j < hw; j++) z[(i * c + ch) * hw + j] = (y[(i * c + ch) * hw + j] - mean[ch]) * inv * gamma[ch] + beta[ch];
            }
        return z;
    }

    private static double[] BnBack(double[] dz, double[] y, int n, int c, int hw, double[] mean, double[] var, double[] gamma,
        out double[] dgamma, out double[] dbeta)
    {
        dgamma = new double[c];
        dbeta = new double[c];
        var dy = new double[y.Length];
        double m = n * hw;
        for (int ch = 0; ch < c; ch++)
        {
            double inv = 1 / Math.Sqrt(var[ch] + Eps), sdz = 0, sdzx = 0;
            for (int i = 0; i < n; i++)
                for (int j = 0; j < hw; j++)
                {
                    int idx = (i * c + ch) * hw + j;
                    sdz += dz[idx];
                    sdzx += dz[idx] * (y[idx] - mean[ch]) * inv;
                }
            dgamma[ch] = sdzx;
            dbeta[ch] = sdz;
            for (int i = 0; i < n; i++)
                for (int j = 0; j < hw; j++)
                {
                    int idx = (i * c + ch) * hw + j;
                    double xhat = (y[idx] - mean[ch]) * inv;
                    dy[idx] = gamma[ch] * inv * (dz[idx] - sdz / m - xhat * sdzx / m);
                }
        }
        return dy;
    }

    private static double[] Relu(double[] z) => Array.ConvertAll(z, v => v > 0 ? v : 0);

    private static double[] ReluBack(double[] g, double[] z)
    {
        var r = new double[g.Length];
        for (int i = 0; i < g.Length; i++) r[i] = z[i] > 0 ? g[i] : 0;
        return r;
    }

    // 2x2 stride-2 max pool; argmax is the first maximum in (row, column) order (PyTorch's strict '>' scan).
    private static double[] Pool(double[] x, int n, int c, int s, out int[] argmax)
    {
        int h = s / 2;
        var y = new double[n * c * h * h];
        argmax = new int[y.Length];
        for (int plane = 0; plane < n * c; plane++)
            for (int i = 0; i < h; i++)
                for (int j = 0; j < h; j++)
                {
                    int best = plane * s * s + 2 * i * s + 2 * j;
                    for (int a = 0; a < 2; a++)
                        for (int b = 0; b < 2; b++)
                        {
                            int idx = plane * s * s + (2 * i + a) * s + 2 * j + b;
                            if (x[idx] > x[best]) best = idx;
                        }
                    y[(plane * h + i) * h + j] = x[best];
                    argmax[(plane * h + i) * h + j] = best;
                }
        return y;
    }

    private static double[] PoolBack(double[] g, int[] argmax, int inputLength)
    {
        var r = new double[inputLength];
        for (int i = 0; i < g.Length; i++) r[argmax[i]] += g[i];
        return r;
    }

    private double[] Linear(double[] x, int n)
    {
        int f = Features;
        var y = new double[n * Classes];
        for (int i = 0; i < n; i++)
            for (int k = 0; k < Classes; k++)
            {
                double s = Bfc[k];
                for (int j = 0; j < f; j++) s += Wfc[k * f + j] * x[i * f + j];
                y[i * Classes + k] = s;
            }
        return y;
    }
}
