using CnnSharp.Functional;

namespace CnnSharp.Losses;

/// <summary>Negative log-likelihood loss over log-probabilities and class-index targets (PyTorch's <c>nn.NLLLoss</c>); see <see cref="F.NllLoss"/>.</summary>
/// <param name="reduction">Mean (default), Sum or None.</param>
public sealed class NllLoss(Reduction reduction = Reduction.Mean)
{
    /// <summary>How per-sample losses are reduced.</summary>
    public Reduction Reduction { get; } = reduction;

    /// <summary>The loss of <paramref name="logProbs"/> (N, C) against <paramref name="targets"/> (N class indices).</summary>
    /// <exception cref="ShapeException">The shapes do not fit.</exception>
    /// <exception cref="ArgumentException">A target is outside [0, C).</exception>
    public Tensor Forward(Tensor logProbs, int[] targets) => F.NllLoss(logProbs, targets, Reduction);
}
