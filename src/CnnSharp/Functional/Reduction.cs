namespace CnnSharp.Functional;

/// <summary>How a loss reduces its per-element values (PyTorch's <c>reduction=</c> argument).</summary>
public enum Reduction
{
    /// <summary>No reduction: one loss value per sample (or per element for <see cref="F.MseLoss"/>).</summary>
    None,

    /// <summary>The mean of the per-sample values (PyTorch's default).</summary>
    Mean,

    /// <summary>The sum of the per-sample values.</summary>
    Sum,
}
