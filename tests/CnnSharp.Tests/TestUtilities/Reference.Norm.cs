namespace CnnSharp.Tests.TestUtilities;

public static partial class Reference
{
    /// <summary>
    /// Batch norm from its definition over (N, C, rest...) data: training uses the batch mean and the biased variance,
    /// eval the given running statistics. Weight/bias null mean 1/0.
    /// </summary>
    public static double[] BatchNorm(double[] x, int[] shape, double[]? weight, double[]? bias, bool training,
        double[]? runningMean = null, double[]? runningVar = null, double eps = 1e-5)
    {
        int n = shape[0], c = shape[1];
        int s = shape.Skip(2).Aggregate(1, (a, b) => a * b);
        var y = new double[x.Length];
        for (int ch = 0; ch < c; ch++)
        {
            var vals = Enumerable.Range(0, n).SelectMany(b => Enumerable.Range(0, s).Select(i => x[(b * c + ch) * s + i])).ToArray();
            double mean, variance;
            if (training)
            {
                mean = vals.Average();
                variance = vals.Select(v => (v - mean) * (v - mean)).Average();
            }
            else
            {
                mean = runningMean![ch];
                variance = runningVar![ch];
            }
            double g = weight?[ch] ?? 1, beta = bias?[ch] ?? 0;
            for (int b = 0; b < n; b++)
                for (int i = 0; i < s; i++)
                {
                    int idx = (b * c + ch) * s + i;
                    y[idx] = (x[idx] - mean) / Math.Sqrt(variance + eps) * g + beta;
                }
        }
        return y;
    }

    /// <summary>Per-channel batch mean and unbiased variance (the values PyTorch feeds into running_var).</summary>
    public static (double[] Mean, double[] UnbiasedVar) ChannelStats(double[] x, int[] shape)
    {
        int n = shape[0], c = shape[1];
        int s = shape.Skip(2).Aggregate(1, (a, b) => a * b);
        var mean = new double[c];
        var uvar = new double[c];
        for (int ch = 0; ch < c; ch++)
        {
            var vals = Enumerable.Range(0, n).SelectMany(b => Enumerable.Range(0, s).Select(i => x[(b * c + ch) * s + i])).ToArray();
            mean[ch] = vals.Average();
            uvar[ch] = vals.Select(v => (v - mean[ch]) * (v - mean[ch])).Sum() / (vals.Length - 1);
        }
        return (mean, uvar);
    }
}
