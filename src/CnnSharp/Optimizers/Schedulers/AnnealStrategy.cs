namespace CnnSharp.Optimizers.Schedulers;

/// <summary>How <see cref="OneCycleLr"/> moves between its phase endpoints.</summary>
public enum AnnealStrategy
{
    /// <summary><c>end + (start − end)/2 · (1 + cos(π·pct))</c>.</summary>
    Cos,
    /// <summary><c>start + (end − start)·pct</c>.</summary>
    Linear,
}
