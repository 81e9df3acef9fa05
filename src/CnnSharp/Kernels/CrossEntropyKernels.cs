using System.Numerics;

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
            var g = gradLogits.Slice(i * c, c);
            total += RowLoss(logits.Slice(i * c, c), targets[i], g);
            for (int j = 0; j < c; j++) g[j] *= invN;
            g[targets[i]] -= invN;
        }
        return total / n;
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
