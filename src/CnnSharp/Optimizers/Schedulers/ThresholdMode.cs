namespace CnnSharp.Optimizers.Schedulers;

/// <summary>How <see cref="ReduceLrOnPlateau"/> compares a metric with the best so far.</summary>
public enum ThresholdMode
{
    /// <summary>Relative: better than <c>best·(1 ∓ threshold)</c>.</summary>
    Rel,
    /// <summary>Absolute: better than <c>best ∓ threshold</c>.</summary>
    Abs,
}
