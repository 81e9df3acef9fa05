using CnnSharp.Functional;

namespace CnnSharp.Losses;

/// <summary>Cross-entropy loss over logits and class-index targets (PyTorch's <c>nn.CrossEntropyLoss</c>); see <see cref="F.CrossEntropy"/>.</summary>
/// <example><code>var loss = new CrossEntropyLoss().Forward(model.Forward(images), labels); loss.Backward();</code></example>
/// <param name="reduction">Mean (default), Sum or None.</param>
public sealed class CrossEntropyLoss(Reduction reduction = Reduction.Mean)
{
    /// <summary>How per-sample losses are reduced.</summary>
    public Reduction Reduction { get; } = reduction;

    /// <summary>The loss of <paramref name="logits"/> (N, C) against <paramref name="targets"/> (N class indices).</summary>
    /// <exception cref="ShapeException">The shapes do not fit.</exception>
    /// <exception cref="ArgumentException">A target is outside [0, C).</exception>
    public Tensor Forward(Tensor logits, int[] targets) => F.CrossEntropy(logits, targets, Reduction);
}
