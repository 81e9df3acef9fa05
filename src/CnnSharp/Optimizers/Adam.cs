namespace CnnSharp.Optimizers;

/// <summary>The Adam optimizer with PyTorch's defaults and update (<c>torch.optim.Adam</c>, PyTorch 1.13), including L2 weight decay and AMSGrad.</summary>
/// <remarks>
/// Weight decay is an L2 penalty added to the gradient (<c>g = g + weightDecay * p</c>) before the moment updates; see
/// <see cref="AdamBase"/> for the full update and <see cref="AdamW"/> for decoupled weight decay.
/// </remarks>
public sealed class Adam : AdamBase
{
    /// <summary>Creates the optimizer; the defaults are PyTorch's.</summary>
    /// <param name="parameters">The tensors to update.</param>
    /// <param name="lr">Learning rate.</param>
    /// <param name="betas">Decay rates of the first and second moment estimates, each in [0, 1).</param>
    /// <param name="eps">Added to the denominator for numerical stability.</param>
    /// <param name="weightDecay">L2 penalty added to the gradient, >= 0.</param>
    /// <param name="amsgrad">Use the running maximum of the second moment (AMSGrad).</param>
    /// <exception cref="ArgumentOutOfRangeException">A hyperparameter is out of range.</exception>
    /// <exception cref="ArgumentException">An empty or duplicated parameter list.</exception>
    public Adam(IEnumerable<Tensor> parameters, float lr = 1e-3f, (float Beta1, float Beta2)? betas = null, float eps = 1e-8f,
        float weightDecay = 0f, bool amsgrad = false)
        : base(parameters, lr, betas, eps, weightDecay, amsgrad, decoupled: false)
    {
    }
}
