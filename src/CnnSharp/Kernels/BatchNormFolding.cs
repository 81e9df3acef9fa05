namespace CnnSharp.Kernels;

/// <summary>
/// Folds an eval-mode batch norm into the convolution before it (PyTorch's <c>fuse_conv_bn_weights</c>): the one
/// implementation used by the compiled executor and the ONNX graph fusion.
/// </summary>
internal static class BatchNormFolding
{
    /// <summary>
    /// <c>w'[k,…] = w[k,…]·s[k]</c> and <c>b'[k] = (b[k] − mean[k])·s[k] + β[k]</c> with <c>s[k] = γ[k]/√(var[k] + ε)</c>,
    /// computed in double. An empty γ means 1, an empty β or conv bias b means 0.
    /// </summary>
    /// <param name="weight">The conv weight (K, …): K rows of equal length.</param>
    /// <param name="bias">The conv bias (K) or empty.</param>
    /// <param name="gamma">The batch-norm scale (K) or empty.</param>
    /// <param name="beta">The batch-norm shift (K) or empty.</param>
    /// <param name="mean">The running mean (K).</param>
    /// <param name="variance">The running variance (K).</param>
    /// <param name="eps">The batch norm's ε.</param>
    /// <param name="foldedWeight">w', like <paramref name="weight"/>; overwritten.</param>
    /// <param name="foldedBias">b' (K); overwritten.</param>
    public static void Fold(ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta,
        ReadOnlySpan<float> mean, ReadOnlySpan<float> variance, double eps, Span<float> foldedWeight, Span<float> foldedBias)
    {
        int k = mean.Length, per = weight.Length / k;
        for (int c = 0; c < k; c++)
        {
            double s = (gamma.IsEmpty ? 1.0 : gamma[c]) / Math.Sqrt(variance[c] + eps);
            for (int i = 0; i < per; i++) foldedWeight[c * per + i] = (float)(weight[c * per + i] * s);
            foldedBias[c] = (float)(((bias.IsEmpty ? 0.0 : bias[c]) - mean[c]) * s + (beta.IsEmpty ? 0.0 : beta[c]));
        }
    }
}
