using CnnSharp.Functional;

namespace CnnSharp.Modules;

/// <summary>Layer normalisation (PyTorch's <c>nn.LayerNorm</c>): <c>y = F.LayerNorm(x, NormalizedShape, Weight, Bias, Eps)</c>.</summary>
/// <remarks>
/// Normalises over the trailing dimensions <see cref="NormalizedShape"/>. Parameters when element-wise affine:
/// <c>weight</c> (ones) and <c>bias</c> (zeros), each of the normalized shape. No buffers; training and eval behave alike.
/// </remarks>
public sealed class LayerNorm : Module
{
    private readonly int[] _normalizedShape;

    /// <summary>Creates the layer normalising over the last dimension of size <paramref name="normalizedShape"/>.</summary>
    /// <inheritdoc cref="LayerNorm(int[], float, bool)"/>
    public LayerNorm(int normalizedShape, float eps = 1e-5f, bool elementwiseAffine = true)
        : this([normalizedShape], eps, elementwiseAffine)
    {
    }

    /// <summary>Creates the layer normalising over the trailing dimensions <paramref name="normalizedShape"/>.</summary>
    /// <param name="normalizedShape">The trailing dimensions (at least one, all positive).</param>
    /// <param name="eps">Added to the variance; non-negative.</param>
    /// <param name="elementwiseAffine">Learn an element-wise scale and shift.</param>
    /// <exception cref="ShapeException">The shape is empty or has a non-positive dimension.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="eps"/> is negative or NaN.</exception>
    public LayerNorm(int[] normalizedShape, float eps = 1e-5f, bool elementwiseAffine = true)
    {
        ArgumentNullException.ThrowIfNull(normalizedShape);
        if (normalizedShape.Length == 0 || normalizedShape.Any(d => d <= 0))
            throw new ShapeException($"LayerNorm: normalized_shape must have at least one dimension, all positive, got {Shape.Format(normalizedShape)}");
        if (!(eps >= 0)) throw new ArgumentOutOfRangeException(nameof(eps), eps, "LayerNorm: eps must be non-negative");
        _normalizedShape = (int[])normalizedShape.Clone();
        Eps = eps;
        ElementwiseAffine = elementwiseAffine;
        if (!elementwiseAffine) return;
        Weight = RegisterParameter("weight", Tensor.Ones(normalizedShape));
        Bias = RegisterParameter("bias", Tensor.Zeros(normalizedShape));
    }

    /// <summary>The trailing dimensions normalised over.</summary>
    public IReadOnlyList<int> NormalizedShape => _normalizedShape;
    /// <summary>Added to the variance.</summary>
    public float Eps { get; }
    /// <summary>Whether the layer has a learnt element-wise scale and shift.</summary>
    public bool ElementwiseAffine { get; }
    /// <summary>Scale of the normalized shape, or null when not affine.</summary>
    public Tensor? Weight { get; }
    /// <summary>Shift of the normalized shape, or null when not affine.</summary>
    public Tensor? Bias { get; }

    /// <summary>Normalises <paramref name="input"/> over its trailing <see cref="NormalizedShape"/> dimensions.</summary>
    /// <exception cref="ShapeException">The input's trailing dimensions differ from the normalized shape.</exception>
    public override Tensor Forward(Tensor input) => F.LayerNorm(input, _normalizedShape, Weight, Bias, Eps);

    /// <summary>PyTorch's repr, e.g. <c>(4, 5), eps=1e-05, elementwise_affine=True</c> (a one-element shape prints as <c>(6,)</c>).</summary>
    protected override string ExtraRepr()
    {
        string shape = _normalizedShape.Length == 1 ? $"({_normalizedShape[0]},)" : Shape.Format(_normalizedShape);
        return $"{shape}, eps={Repr.Number(Eps)}, elementwise_affine={Repr.Bool(ElementwiseAffine)}";
    }
}
