using CnnSharp.Functional;

namespace CnnSharp.Losses;

/// <summary>Cross-entropy loss over logits and class-index targets (PyTorch's <c>nn.CrossEntropyLoss</c>); see <see cref="F.CrossEntropy"/>.</summary>
/// <example><code>var loss = new CrossEntropyLoss().Forward(model.Forward(images), labels); loss.Backward();</code></example>
/// <param name="reduction">Mean (default), Sum or None.</param>
/// <param name="labelSmoothing">ε in [0, 1] (PyTorch's <c>label_smoothing</c>): the target becomes <c>(1 − ε)·onehot + ε/C</c>.</param>
public sealed class CrossEntropyLoss(Reduction reduction = Reduction.Mean, float labelSmoothing = 0f)
{
    /// <summary>How per-sample losses are reduced.</summary>
    public Reduction Reduction { get; } = reduction;

    /// <summary>Label smoothing ε, in [0, 1].</summary>
    /// <exception cref="ArgumentOutOfRangeException">At construction: ε is not in [0, 1] (NaN included).</exception>
    public float LabelSmoothing { get; } = F.CheckLabelSmoothing(labelSmoothing);

    /// <summary>The loss of <paramref name="logits"/> (N, C) against <paramref name="targets"/> (N class indices).</summary>
    /// <exception cref="ShapeException">The shapes do not fit.</exception>
    /// <exception cref="ArgumentException">A target is outside [0, C).</exception>
    public Tensor Forward(Tensor logits, int[] targets) => F.CrossEntropy(logits, targets, Reduction, LabelSmoothing);
}
