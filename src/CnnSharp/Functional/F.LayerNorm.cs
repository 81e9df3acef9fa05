using CnnSharp.Compile;

namespace CnnSharp.Functional;

public static partial class F
{
    // Replay inputs are the node's: x, then weight and bias when given (so the bias is always the last).
    private static void TraceLayerNorm(Tensor y, int[] normalizedShape, bool hasWeight, bool hasBias, float eps) =>
        Tracer.Describe(y, new LayerNormSpec(normalizedShape, hasWeight, hasBias, eps, i => LayerNorm(i[0], normalizedShape, hasWeight ? i[1] : null, hasBias ? i[^1] : null, eps)));

    /// <summary>Layer normalisation (PyTorch's <c>F.layer_norm</c>) over the trailing dimensions given by <paramref name="normalizedShape"/>.</summary>
    /// <remarks>
    /// Every block of M = prod(normalizedShape) trailing values is normalised with its own mean and biased variance:
    /// <c>y = (x − mean) / √(var + eps) · weight + bias</c>, weight and bias element-wise over the normalized shape.
    /// Statistics are computed in double. Gradients flow to x, weight and bias.
    /// </remarks>
    /// <param name="x">Any shape whose trailing dimensions equal <paramref name="normalizedShape"/>.</param>
    /// <param name="normalizedShape">The trailing dimensions to normalise over (at least one).</param>
    /// <param name="weight">Shape <paramref name="normalizedShape"/> scale, or null for 1.</param>
    /// <param name="bias">Shape <paramref name="normalizedShape"/> shift, or null for 0.</param>
    /// <param name="eps">Added to the variance; non-negative.</param>
    /// <returns>Same shape as <paramref name="x"/>.</returns>
    /// <exception cref="ShapeException">The normalized shape is empty, has a non-positive dimension or does not match the
    /// input's trailing dimensions, or weight/bias do not have the normalized shape.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="eps"/> is negative or NaN.</exception>
    public static Tensor LayerNorm(Tensor x, int[] normalizedShape, Tensor? weight = null, Tensor? bias = null, float eps = 1e-5f)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(normalizedShape);
        string shape = Shape.Format(normalizedShape);
        string Describe() => $"input {x.Shape}, normalized_shape {shape}, weight {weight?.Shape.ToString() ?? "none"}, bias {bias?.Shape.ToString() ?? "none"}";
        if (!(eps >= 0)) throw new ArgumentOutOfRangeException(nameof(eps), eps, $"LayerNorm: eps must be non-negative ({Describe()})");
        if (normalizedShape.Length == 0 || normalizedShape.Any(d => d <= 0))
            throw new ShapeException($"LayerNorm: normalized_shape must have at least one dimension, all positive ({Describe()})");
        int k = normalizedShape.Length;
        if (x.Rank < k || !x.Shape.ToArray().AsSpan(x.Rank - k).SequenceEqual(normalizedShape))
            throw new ShapeException($"LayerNorm: expected an input whose trailing dimensions are {shape} ({Describe()})");
        foreach (var (t, name) in new[] { (weight, "weight"), (bias, "bias") })
            if (t is not null && !t.Shape.Equals(normalizedShape))
                throw new ShapeException($"LayerNorm: {name} has shape {t.Shape} but normalized_shape is {shape} ({Describe()})");
        int m = normalizedShape.Aggregate(1, (a, b) => a * b);
        var y = NormRows("LayerNormBackward", x, weight, bias, eps, rows: x.Numel / m, rowLength: m, repeat: 1);
        if (Tracer.Current is not null) TraceLayerNorm(y, (int[])normalizedShape.Clone(), weight is not null, bias is not null, eps);
        return y;
    }
}
