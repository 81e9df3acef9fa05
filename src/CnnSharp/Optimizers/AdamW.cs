namespace CnnSharp.Optimizers;

/// <summary>Adam with decoupled weight decay (PyTorch's <c>torch.optim.AdamW</c>, PyTorch 1.13), optionally AMSGrad.</summary>
/// <remarks>
/// Each step first decays the weights, <c>p = p * (1 - lr * weightDecay)</c>, then applies Adam's update to the raw
/// gradient (no L2 term); see <see cref="AdamBase"/>. The default weight decay is PyTorch's 0.01. Checkpoints record the
/// type name <c>AdamW</c>, so resuming an AdamW run with <see cref="Adam"/> (or the reverse) is refused.
/// </remarks>
public sealed class AdamW : AdamBase
{
    /// <summary>Creates the optimizer; the defaults are PyTorch's.</summary>
    /// <param name="parameters">The tensors to update.</param>
    /// <param name="lr">Learning rate.</param>
    /// <param name="betas">Decay rates of the first and second moment estimates, each in [0, 1); default (0.9, 0.999).</param>
    /// <param name="eps">Added to the denominator for numerical stability.</param>
    /// <param name="weightDecay">Decoupled weight decay coefficient, >= 0.</param>
    /// <param name="amsgrad">Use the running maximum of the second moment (AMSGrad).</param>
    /// <exception cref="ArgumentOutOfRangeException">A hyperparameter is out of range.</exception>
    /// <exception cref="ArgumentException">An empty or duplicated parameter list.</exception>
    public AdamW(IEnumerable<Tensor> parameters, float lr = 1e-3f, (float Beta1, float Beta2)? betas = null, float eps = 1e-8f,
        float weightDecay = 1e-2f, bool amsgrad = false)
        : base(parameters, lr, betas, eps, weightDecay, amsgrad, decoupled: true)
    {
    }
}
