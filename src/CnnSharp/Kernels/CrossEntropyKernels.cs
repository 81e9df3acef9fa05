using System.Numerics;

namespace CnnSharp.Kernels;

/// <summary>Cross-entropy of logits against class indices with its gradient, in one pass per row (log-sum-exp).</summary>
internal static class CrossEntropyKernels
{
    /// <summary>
    /// <c>loss = (1/N)·Σ_i (log Σ_j exp(x[i,j]) − x[i, t_i])</c> and <c>dx[i,j] = (softmax(x_i)_j − [j = t_i]) / N</c>
    /// (overwritten). The maximum is subtracted before exponentiating; row sums and the loss accumulate in double.
    /// With label smoothing ε the target is <c>(1 − ε)·onehot + ε/C</c> (PyTorch's <c>label_smoothing</c>): each row's loss
    /// becomes <c>(1 − ε)·(lse − x_t) + ε·(lse − mean_j x_j)</c> and <c>dx[i,j] = (softmax(x_i)_j − (1 − ε)·[j = t_i] − ε/C) / N</c>.
    /// </summary>
    /// <param name="logits">x, shape (N, C).</param>
    /// <param name="targets">t, N class indices in [0, C) (validated by the caller).</param>
    /// <param name="gradLogits">dx, shape (N, C); overwritten.</param>
    /// <param name="n">Rows (batch size).</param>
    /// <param name="c">Classes.</param>
    /// <param name="labelSmoothing">ε in [0, 1] (validated by the caller); 0 is plain cross-entropy, bit for bit.</param>
    /// <returns>The mean loss (NaN when a logit is NaN).</returns>
    public static double ForwardBackward(ReadOnlySpan<float> logits, ReadOnlySpan<int> targets, Span<float> gradLogits, int n, int c,
        float labelSmoothing = 0f)
    {
        double total = 0;
        float invN = 1f / n;
        float hit = (1f - labelSmoothing) * invN, spread = labelSmoothing / c * invN;
        for (int i = 0; i < n; i++)
        {
            var row = logits.Slice(i * c, c);
            var g = gradLogits.Slice(i * c, c);
            total += RowLoss(row, targets[i], g);
            if (labelSmoothing != 0f) total += SmoothingTerm(row, targets[i], labelSmoothing);
            for (int j = 0; j < c; j++) g[j] = g[j] * invN - spread;
            g[targets[i]] -= hit;
        }
        return total / n;
    }

    /// <summary>
    /// What label smoothing ε adds to a row's plain loss <c>lse − x_t</c>: <c>ε·(x_t − mean_j x_j)</c>, so that the sum is
    /// <c>(1 − ε)·(lse − x_t) + ε·(lse − mean_j x_j)</c>, PyTorch's smoothed cross-entropy (accumulated in double).
    /// </summary>
    /// <param name="row">The logits x, length C.</param>
    /// <param name="target">t in [0, C).</param>
    /// <param name="labelSmoothing">ε.</param>
    public static double SmoothingTerm(ReadOnlySpan<float> row, int target, float labelSmoothing)
    {
        double sum = 0;
        foreach (float v in row) sum += v;
        return labelSmoothing * ((double)row[target] - sum / row.Length);
    }

    /// <summary>
    /// One row's <c>log Σ_j exp(x_j) − x_t</c> (log-sum-exp with the maximum subtracted first, the sum in double) and,
    /// when <paramref name="probabilities"/> is not empty, <c>softmax(x)</c> written into it: the one log-sum-exp of the
    /// library (autograd cross-entropy, the compiled executor and evaluation all call it).
    /// </summary>
    /// <param name="row">The logits x, length C.</param>
    /// <param name="target">t in [0, C).</param>
    /// <param name="probabilities">Length C, or empty.</param>
    /// <returns>The row's loss (NaN when a logit is NaN).</returns>
    public static double RowLoss<T>(ReadOnlySpan<T> row, int target, Span<T> probabilities) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T max = T.NegativeInfinity;
        foreach (T v in row) max = T.Max(max, v);
        double sum = 0;
        foreach (T v in row) sum += double.CreateTruncating(T.Exp(v - max));
        double lse = double.CreateTruncating(max) + Math.Log(sum);
        // exp(x − lse) rather than exp(x − max)/sum: one more exp per class, and the compiled path's gradients stay bit for
        // bit what they were before the log-sum-exps were merged.
        if (!probabilities.IsEmpty)
        {
            T shift = T.CreateTruncating(lse);
            for (int j = 0; j < row.Length; j++) probabilities[j] = T.Exp(row[j] - shift);
        }
        return lse - double.CreateTruncating(row[target]);
    }
}
