namespace CnnSharp.Optimizers;

/// <summary>Gradient clipping (PyTorch's <c>torch.nn.utils.clip_grad_norm_</c> and <c>clip_grad_value_</c>), applied in place between <c>Backward</c> and <c>optimizer.Step()</c>.</summary>
public static class GradClip
{
    /// <summary>
    /// Scales the gradients of <paramref name="parameters"/> so that their combined norm is at most <paramref name="maxNorm"/>,
    /// and returns the norm before clipping (PyTorch's <c>clip_grad_norm_</c>).
    /// </summary>
    /// <remarks>
    /// The total norm is the <paramref name="normType"/>-norm of all gradient elements together (the norm of the per-tensor
    /// norms), or the largest absolute element for <see cref="double.PositiveInfinity"/>; it is accumulated in double and
    /// rounded to float, as PyTorch returns a float32 tensor. Every gradient is then multiplied by
    /// <c>min(maxNorm / (total + 1e-6), 1)</c>, computed in float32 (PyTorch's epsilon, so a gradient exactly at the limit
    /// is scaled by slightly less than 1). Parameters whose gradient is null are skipped; with none, 0 is returned. A
    /// non-finite norm propagates into the gradients unless <paramref name="errorIfNonfinite"/>.
    /// </remarks>
    /// <param name="parameters">The tensors whose gradients are clipped.</param>
    /// <param name="maxNorm">The largest allowed norm, finite and ≥ 0.</param>
    /// <param name="normType">The p of the p-norm (&gt; 0; 2 by default), or positive infinity for the max-norm.</param>
    /// <param name="errorIfNonfinite">Throw, leaving the gradients unchanged, when the total norm is NaN or infinite.</param>
    /// <returns>The total norm of the gradients before clipping.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxNorm"/> or <paramref name="normType"/> is out of range.</exception>
    /// <exception cref="InvalidOperationException">The norm is not finite and <paramref name="errorIfNonfinite"/> is set.</exception>
    public static float ClipGradNorm(IEnumerable<Tensor> parameters, double maxNorm, double normType = 2.0, bool errorIfNonfinite = false)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (!(maxNorm >= 0) || double.IsInfinity(maxNorm)) throw new ArgumentOutOfRangeException(nameof(maxNorm), maxNorm, "ClipGradNorm: max norm must be finite and >= 0");
        if (!(normType > 0)) throw new ArgumentOutOfRangeException(nameof(normType), normType, "ClipGradNorm: norm type must be > 0 or positive infinity");
        var grads = parameters.Select(p => p?.Grad).OfType<Tensor>().ToList();
        if (grads.Count == 0) return 0f;
        bool inf = double.IsPositiveInfinity(normType);
        double acc = 0;
        foreach (var g in grads)
        {
            foreach (float v in g.Data)
            {
                double a = Math.Abs((double)v);
                if (inf) acc = double.IsNaN(a) || double.IsNaN(acc) ? double.NaN : Math.Max(acc, a);
                else acc += normType == 2.0 ? a * a : Math.Pow(a, normType);
            }
        }
        float total = (float)(inf ? acc : normType == 2.0 ? Math.Sqrt(acc) : Math.Pow(acc, 1.0 / normType));
        if (errorIfNonfinite && !float.IsFinite(total))
            throw new InvalidOperationException($"ClipGradNorm: the total norm of order {normType} of the gradients is {total}, so they cannot be clipped");
        float coef = MathF.Min((float)maxNorm / (total + 1e-6f), 1f);
        foreach (var g in grads)
        {
            var d = g.Data;
            System.Numerics.Tensors.TensorPrimitives.Multiply(d, coef, d);
        }
        return total;
    }

    /// <summary>Clamps every gradient element of <paramref name="parameters"/> to [−clipValue, clipValue] (PyTorch's <c>clip_grad_value_</c>); null gradients are skipped, NaN stays NaN.</summary>
    /// <param name="parameters">The tensors whose gradients are clipped.</param>
    /// <param name="clipValue">The bound, finite and ≥ 0.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="clipValue"/> is negative or not finite.</exception>
    public static void ClipGradValue(IEnumerable<Tensor> parameters, double clipValue)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (!(clipValue >= 0) || double.IsInfinity(clipValue)) throw new ArgumentOutOfRangeException(nameof(clipValue), clipValue, "ClipGradValue: clip value must be finite and >= 0");
        float c = (float)clipValue;
        foreach (var p in parameters)
        {
            if (p?.Grad is null) continue;
            var d = p.Grad.Data;
            for (int i = 0; i < d.Length; i++)
            {
                float v = d[i];
                d[i] = v > c ? c : v < -c ? -c : v;
            }
        }
    }
}
