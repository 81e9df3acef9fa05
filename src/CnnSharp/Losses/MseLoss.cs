using CnnSharp.Functional;

namespace CnnSharp.Losses;

/// <summary>Mean squared error loss (PyTorch's <c>nn.MSELoss</c>); see <see cref="F.MseLoss"/>.</summary>
/// <param name="reduction">Mean (default), Sum or None.</param>
public sealed class MseLoss(Reduction reduction = Reduction.Mean)
{
    /// <summary>How element-wise squared errors are reduced.</summary>
    public Reduction Reduction { get; } = reduction;

    /// <summary>The loss of <paramref name="input"/> against <paramref name="target"/> (same shape).</summary>
    /// <exception cref="ShapeException">The shapes differ.</exception>
    public Tensor Forward(Tensor input, Tensor target) => F.MseLoss(input, target, Reduction);
}
