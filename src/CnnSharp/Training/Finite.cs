using System.Numerics.Tensors;

namespace CnnSharp.Training;

/// <summary>The divergence check: whether values hold no NaN and no infinity.</summary>
internal static class Finite
{
    /// <summary>True when every value is finite (an empty span is).</summary>
    /// <remarks>One vectorised pass: the largest magnitude is NaN when any value is NaN and infinite when any is infinite.</remarks>
    public static bool All(ReadOnlySpan<float> values) => values.IsEmpty || float.IsFinite(TensorPrimitives.MaxMagnitude(values));
}
