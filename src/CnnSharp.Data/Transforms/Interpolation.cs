namespace CnnSharp.Data.Transforms;

/// <summary>How <see cref="RandomAffine"/> samples the source image at a non-integer position.</summary>
public enum Interpolation
{
    /// <summary>The nearest pixel (coordinates rounded half to even, as <c>grid_sample(mode="nearest")</c>).</summary>
    Nearest,

    /// <summary>Bilinear interpolation of the four neighbours (as <c>grid_sample(mode="bilinear")</c>).</summary>
    Bilinear,
}
