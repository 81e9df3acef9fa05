namespace CnnSharp.Kernels;

/// <summary>Cross-entropy of logits against class indices with its gradient, in one pass per row (log-sum-exp).</summary>
internal static class CrossEntropyKernels
{
    /// <summary>
    /// <c>loss = (1/N)·Σ_i (log Σ_j exp(x[i,j]) − x[i, t_i])</c> and <c>dx[i,j] = (softmax(x_i)_j − [j = t_i]) / N</c>
    /// (overwritten). The maximum is subtracted before exponentiating; row sums and the loss accumulate in double.
    /// </summary>
    /// <param name="logits">x, shape (N, C).</param>
    /// <param name="targets">t, N class indices in [0, C) (validated by the caller).</param>
    /// <param name="gradLogits">dx, shape (N, C); overwritten.</param>
    /// <param name="n">Rows (batch size).</param>
    /// <param name="c">Classes.</param>
    /// <returns>The mean loss (NaN when a logit is NaN).</returns>
    public static double ForwardBackward(ReadOnlySpan<float> logits, ReadOnlySpan<int> targets, Span<float> gradLogits, int n, int c)
    {
        double total = 0;
        float invN = 1f / n;
        for (int i = 0; i < n; i++)
        {
            var row = logits.Slice(i * c, c);
            var g = gradLogits.Slice(i * c, c);
            float max = float.NegativeInfinity;
            foreach (float v in row) max = Math.Max(max, v);
            double sum = 0;
            for (int j = 0; j < c; j++)
            {
                float e = MathF.Exp(row[j] - max);
                g[j] = e;
                sum += e;
            }
            float scale = (float)(1.0 / sum) * invN;
            for (int j = 0; j < c; j++) g[j] *= scale;
            g[targets[i]] -= invN;
            total += max + Math.Log(sum) - row[targets[i]];
        }
        return total / n;
    }
}
