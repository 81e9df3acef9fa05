using System.Diagnostics;
using System.Numerics.Tensors;

namespace CnnSharp.Kernels;

/// <summary>
/// Batch normalisation over (N, C, S) data, where S is the product of the spatial dimensions (1 for (N, C) input).
/// </summary>
/// <remarks>
/// Layout: element (n, c, s) is at <c>(n*C + c)*S + s</c>; channel c owns N contiguous segments of S values, M = N*S values in all.
/// Forward: <c>y = (x - mean[c]) * invStd[c] * weight[c] + bias[c]</c>, with <c>invStd = 1/sqrt(var + eps)</c>.
/// Per-channel reductions run in double. An empty weight span means 1, an empty bias span means 0, and an empty gradient
/// span means that gradient is not wanted. Backward kernels accumulate (<c>+=</c>).
/// </remarks>
internal static unsafe class BatchNormKernels
{
    private const int MinElementsPerChunk = 16384;

    // Segments at least this long use the vectorised TensorPrimitives path; shorter ones (e.g. (N, C) input) a scalar loop.
    internal const int VectorSegment = 32;

    /// <summary>
    /// <c>1/√(variance + ε)</c>, computed in double and rounded once to float: the one implementation of batch norm's
    /// inverse standard deviation for autograd, the compiled executor (training and eval, fused or not), BN folding and
    /// the ONNX runtime's normalisation ops, so that every path normalises with the same bits from the same statistics.
    /// </summary>
    /// <param name="variance">The biased variance (batch or running).</param>
    /// <param name="eps">ε.</param>
    public static float InvStd(double variance, double eps) => (float)InvStdDouble(variance, eps);

    /// <summary><see cref="InvStd"/> before its rounding to float (BN folding and the fused training chain scale in double).</summary>
    public static double InvStdDouble(double variance, double eps) => 1.0 / Math.Sqrt(variance + eps);

    /// <summary>
    /// PyTorch's running-statistics update for one channel: <c>rm = (1 − m)·rm + m·mean</c> and
    /// <c>rv = (1 − m)·rv + m·var·M/(M − 1)</c> (running_var takes the unbiased batch variance; normalisation uses the biased
    /// one), computed in double. The one implementation for autograd and the compiled executor.
    /// </summary>
    /// <param name="runningMean">The channel's running mean, updated.</param>
    /// <param name="runningVar">The channel's running variance, updated.</param>
    /// <param name="mean">The batch mean.</param>
    /// <param name="biasedVariance">The batch's biased variance.</param>
    /// <param name="count">M, the values per channel in the batch (more than 1).</param>
    /// <param name="momentum">m.</param>
    public static void UpdateRunningStatistics(ref float runningMean, ref float runningVar, double mean, double biasedVariance, double count, double momentum)
    {
        runningMean = (float)((1.0 - momentum) * runningMean + momentum * mean);
        runningVar = (float)((1.0 - momentum) * runningVar + momentum * biasedVariance * count / (count - 1));
    }

    /// <summary>
    /// Per-channel mean and biased variance <c>var[c] = sum (x - mean[c])^2 / M</c>, accumulated in double.
    /// </summary>
    /// <remarks>
    /// Segments of S &gt;= <see cref="VectorSegment"/> values are summed with TensorPrimitives in float and the segment sums
    /// added in double. The data are shifted by a pilot value (the channel's first element) before summing, so a large
    /// common offset (e.g. 1e5 + noise) does not swamp the float sums; the variance pass works on deviations from the
    /// float mean and corrects for its rounding: <c>var = mean((x - m')^2) - (mean - m')^2</c>.
    /// </remarks>
    public static void Statistics(ReadOnlySpan<float> input, Span<double> mean, Span<double> variance, int n, int c, int s)
    {
        Debug.Assert(input.Length == n * c * s && mean.Length == c && variance.Length == c && n * s > 0);
        fixed (float* pIn = input)
        fixed (double* pMean = mean, pVar = variance)
        {
            float* xp = pIn;
            double* mp = pMean, vp = pVar;
            Parallelism.For(c, (start, end) =>
            {
                var x = new ReadOnlySpan<float>(xp, n * c * s);
                var tmp = s >= VectorSegment ? new float[s] : null;
                double count = (double)n * s;
                for (int ch = start; ch < end; ch++)
                {
                    double mu, sq = 0;
                    if (tmp is null)
                    {
                        double sum = 0;
                        for (int b = 0; b < n; b++)
                            foreach (float v in x.Slice((b * c + ch) * s, s)) sum += v;
                        mu = sum / count;
                        for (int b = 0; b < n; b++)
                        {
                            foreach (float v in x.Slice((b * c + ch) * s, s))
                            {
                                double d = v - mu;
                                sq += d * d;
                            }
                        }
                        vp[ch] = sq / count;
                    }
                    else
                    {
                        float pilot = x[ch * s];
                        double shiftedSum = 0;
                        for (int b = 0; b < n; b++)
                        {
                            TensorPrimitives.Subtract(x.Slice((b * c + ch) * s, s), pilot, tmp);
                            shiftedSum += TensorPrimitives.Sum<float>(tmp);
                        }
                        mu = pilot + shiftedSum / count;
                        float muF = (float)mu;
                        for (int b = 0; b < n; b++)
                        {
                            TensorPrimitives.Subtract(x.Slice((b * c + ch) * s, s), muF, tmp);
                            sq += TensorPrimitives.SumOfSquares<float>(tmp);
                        }
                        double off = mu - muF;
                        vp[ch] = Math.Max(0, sq / count - off * off);
                    }
                    mp[ch] = mu;
                }
            }, ChannelsPerChunk(n, s));
        }
    }

    /// <summary><c>y[n, c, s] = (x[n, c, s] - mean[c]) * (invStd[c] * weight[c]) + bias[c]</c>.</summary>
    public static void Normalize(ReadOnlySpan<float> input, ReadOnlySpan<float> mean, ReadOnlySpan<float> invStd,
        ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, Span<float> output, int n, int c, int s)
    {
        Debug.Assert(input.Length == n * c * s && output.Length == input.Length && mean.Length == c && invStd.Length == c);
        Debug.Assert((weight.IsEmpty || weight.Length == c) && (bias.IsEmpty || bias.Length == c));
        fixed (float* pIn = input, pOut = output, pMean = mean, pInv = invStd, pW = weight, pB = bias)
        {
            float* xp = pIn, yp = pOut, mp = pMean, ip = pInv, wp = pW, bp = pB;
            bool hasW = !weight.IsEmpty, hasB = !bias.IsEmpty;
            Parallelism.For(n * c, (start, end) =>
            {
                for (int plane = start; plane < end; plane++)
                {
                    int ch = plane % c;
                    var x = new ReadOnlySpan<float>(xp + (long)plane * s, s);
                    var y = new Span<float>(yp + (long)plane * s, s);
                    float scale = ip[ch] * (hasW ? wp[ch] : 1f);
                    // Subtract first: (x - mean) is exact-ish even when |mean| >> std, unlike x*scale + (bias - mean*scale).
                    TensorPrimitives.Subtract(x, mp[ch], y);
                    TensorPrimitives.Multiply(y, scale, y);
                    if (hasB) TensorPrimitives.Add(y, bp[ch], y);
                }
            }, Math.Max(1, MinElementsPerChunk / Math.Max(1, s)));
        }
    }

    /// <summary>
    /// Training-mode backward, where mean and invStd are functions of the batch:
    /// <c>dx = w*invStd * (dy - sum(dy)/M - (x - mean) * invStd^2 * sum(dy*(x - mean))/M)</c>,
    /// <c>dweight[c] += invStd * sum(dy*(x - mean))</c>, <c>dbias[c] += sum(dy)</c>.
    /// </summary>
    public static void BackwardTraining(ReadOnlySpan<float> input, ReadOnlySpan<float> gradOutput, ReadOnlySpan<float> mean,
        ReadOnlySpan<float> invStd, ReadOnlySpan<float> weight, Span<float> gradInput, Span<float> gradWeight, Span<float> gradBias,
        int n, int c, int s) =>
        Backward(input, gradOutput, mean, invStd, weight, gradInput, gradWeight, gradBias, n, c, s, training: true);

    /// <summary>
    /// Eval-mode backward, where mean and invStd are the running statistics (constants):
    /// <c>dx = dy * w * invStd</c>, <c>dweight[c] += invStd * sum(dy*(x - mean))</c>, <c>dbias[c] += sum(dy)</c>.
    /// </summary>
    public static void BackwardEval(ReadOnlySpan<float> input, ReadOnlySpan<float> gradOutput, ReadOnlySpan<float> mean,
        ReadOnlySpan<float> invStd, ReadOnlySpan<float> weight, Span<float> gradInput, Span<float> gradWeight, Span<float> gradBias,
        int n, int c, int s) =>
        Backward(input, gradOutput, mean, invStd, weight, gradInput, gradWeight, gradBias, n, c, s, training: false);

    private static void Backward(ReadOnlySpan<float> input, ReadOnlySpan<float> gradOutput, ReadOnlySpan<float> mean,
        ReadOnlySpan<float> invStd, ReadOnlySpan<float> weight, Span<float> gradInput, Span<float> gradWeight, Span<float> gradBias,
        int n, int c, int s, bool training)
    {
        int total = n * c * s;
        Debug.Assert(input.Length == total && gradOutput.Length == total && mean.Length == c && invStd.Length == c);
        Debug.Assert(gradInput.IsEmpty || gradInput.Length == total);
        Debug.Assert((weight.IsEmpty || weight.Length == c) && (gradWeight.IsEmpty || gradWeight.Length == c) && (gradBias.IsEmpty || gradBias.Length == c));
        fixed (float* pIn = input, pGy = gradOutput, pMean = mean, pInv = invStd, pW = weight, pGx = gradInput, pGw = gradWeight, pGb = gradBias)
        {
            float* xp = pIn, gyp = pGy, mp = pMean, ip = pInv, wp = pW, gxp = pGx, gwp = pGw, gbp = pGb;
            bool hasW = !weight.IsEmpty, wantX = !gradInput.IsEmpty, wantW = !gradWeight.IsEmpty, wantB = !gradBias.IsEmpty;
            Parallelism.For(c, (start, end) =>
            {
                var x = new ReadOnlySpan<float>(xp, total);
                var gy = new ReadOnlySpan<float>(gyp, total);
                var gx = new Span<float>(gxp, wantX ? total : 0);
                var tmp = s >= VectorSegment ? new float[s] : null;
                for (int ch = start; ch < end; ch++)
                {
                    float mu = mp[ch], inv = ip[ch];
                    double sumDy = 0, sumDyXmu = 0;
                    if (training || wantW || wantB)
                    {
                        for (int b = 0; b < n; b++)
                        {
                            int off = (b * c + ch) * s;
                            if (tmp is null)
                            {
                                for (int i = off; i < off + s; i++)
                                {
                                    sumDy += gy[i];
                                    sumDyXmu += gy[i] * (double)(x[i] - mu);
                                }
                            }
                            else
                            {
                                // Per-segment float sums (vectorised), accumulated across segments in double.
                                var gySeg = gy.Slice(off, s);
                                TensorPrimitives.Subtract(x.Slice(off, s), mu, tmp);
                                sumDy += TensorPrimitives.Sum(gySeg);
                                sumDyXmu += TensorPrimitives.Dot(gySeg, tmp);
                            }
                        }
                    }
                    if (wantW) gwp[ch] += (float)(sumDyXmu * inv);
                    if (wantB) gbp[ch] += (float)sumDy;
                    if (!wantX) continue;

                    float a = inv * (hasW ? wp[ch] : 1f);
                    double m = (double)n * s;
                    // Training: dx = a*dy - a*mean(dy) - (x - mean) * a*invStd^2*mean(dy*(x - mean)); eval: dx = a*dy.
                    float meanDy = training ? (float)(sumDy / m) : 0f;
                    float k = training ? (float)(sumDyXmu / m * inv * inv) : 0f;
                    for (int b = 0; b < n; b++)
                    {
                        int off = (b * c + ch) * s;
                        if (tmp is null)
                        {
                            for (int i = off; i < off + s; i++)
                                gx[i] += a * (gy[i] - meanDy - (x[i] - mu) * k);
                        }
                        else
                        {
                            // tmp = (x - mean) * (-a*k) + a*dy - a*meanDy; gx += tmp
                            var gxSeg = gx.Slice(off, s);
                            TensorPrimitives.Subtract(x.Slice(off, s), mu, tmp);
                            TensorPrimitives.Multiply(tmp, -a * k, tmp);
                            TensorPrimitives.MultiplyAdd(gy.Slice(off, s), a, tmp, tmp);
                            TensorPrimitives.Add(tmp, -a * meanDy, tmp);
                            TensorPrimitives.Add(gxSeg, tmp, gxSeg);
                        }
                    }
                }
            }, ChannelsPerChunk(n, s));
        }
    }

    private static int ChannelsPerChunk(int n, int s) => Math.Max(1, MinElementsPerChunk / Math.Max(1, n * s));
}
