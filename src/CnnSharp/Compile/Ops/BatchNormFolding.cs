namespace CnnSharp.Compile.Ops;

/// <summary>Folds an eval-mode batch norm into the preceding convolution's weights and bias.</summary>
internal static class BatchNormFolding
{
    /// <summary>
    /// <c>w'[k,…] = w[k,…]·s[k]</c>, <c>b'[k] = (b[k] − mean[k])·s[k] + β[k]</c> with <c>s[k] = γ[k]/√(var[k] + ε)</c>
    /// (γ = 1, β = 0 without affine parameters; b = 0 without a conv bias). The scale is computed in double.
    /// </summary>
    public static void Fold(ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, BatchNormSpec bn, int k, Span<float> foldedWeight, Span<float> foldedBias)
    {
        ReadOnlySpan<float> mean = bn.RunningMean!.Data, variance = bn.RunningVar!.Data;
        ReadOnlySpan<float> gamma = bn.Weight is null ? default : bn.Weight.Data, beta = bn.Bias is null ? default : bn.Bias.Data;
        int per = weight.Length / k;
        for (int c = 0; c < k; c++)
        {
            double scale = (gamma.IsEmpty ? 1.0 : gamma[c]) / Math.Sqrt((double)variance[c] + bn.Eps);
            for (int i = 0; i < per; i++) foldedWeight[c * per + i] = (float)(weight[c * per + i] * scale);
            double b = bias.IsEmpty ? 0.0 : bias[c];
            foldedBias[c] = (float)((b - mean[c]) * scale + (beta.IsEmpty ? 0.0 : beta[c]));
        }
    }
}
