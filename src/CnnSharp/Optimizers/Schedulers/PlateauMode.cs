namespace CnnSharp.Optimizers.Schedulers;

/// <summary>Whether <see cref="ReduceLrOnPlateau"/>'s metric improves by decreasing (a loss) or increasing (an accuracy).</summary>
public enum PlateauMode
{
    /// <summary>Lower is better.</summary>
    Min,
    /// <summary>Higher is better.</summary>
    Max,
}
