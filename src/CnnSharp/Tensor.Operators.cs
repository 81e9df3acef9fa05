using CnnSharp.Functional;

namespace CnnSharp;

public sealed partial class Tensor
{
    /// <summary>Element-wise sum with broadcasting (<see cref="F.Add"/>).</summary>
    public static Tensor operator +(Tensor a, Tensor b) => F.Add(a, b);
    /// <summary>Element-wise difference with broadcasting (<see cref="F.Sub"/>).</summary>
    public static Tensor operator -(Tensor a, Tensor b) => F.Sub(a, b);
    /// <summary>Element-wise product with broadcasting (<see cref="F.Mul"/>).</summary>
    public static Tensor operator *(Tensor a, Tensor b) => F.Mul(a, b);
    /// <summary>Element-wise quotient with broadcasting (<see cref="F.Div"/>).</summary>
    public static Tensor operator /(Tensor a, Tensor b) => F.Div(a, b);
    /// <summary>Adds a scalar.</summary>
    public static Tensor operator +(Tensor a, float b) => F.Affine(a, 1f, b);
    /// <summary>Subtracts a scalar.</summary>
    public static Tensor operator -(Tensor a, float b) => F.Affine(a, 1f, -b);
    /// <summary>Multiplies by a scalar.</summary>
    public static Tensor operator *(Tensor a, float b) => F.Affine(a, b);
    /// <summary>Multiplies by a scalar.</summary>
    public static Tensor operator *(float a, Tensor b) => F.Affine(b, a);
    /// <summary>Divides by a scalar.</summary>
    public static Tensor operator /(Tensor a, float b) => F.Affine(a, 1f / b);
    /// <summary>Negation.</summary>
    public static Tensor operator -(Tensor a) => F.Affine(a, -1f);

    /// <summary>Sum of all elements as a one-element tensor of shape ().</summary>
    public Tensor Sum() => F.Sum(this);
    /// <summary>Sum over <paramref name="dim"/>.</summary>
    public Tensor Sum(int dim, bool keepDim = false) => F.Sum(this, dim, keepDim);
    /// <summary>Mean of all elements as a one-element tensor of shape ().</summary>
    public Tensor Mean() => F.Mean(this);
    /// <summary>Mean over <paramref name="dim"/>.</summary>
    public Tensor Mean(int dim, bool keepDim = false) => F.Mean(this, dim, keepDim);
    /// <summary>Index of the maximum along <paramref name="dim"/> (first one on ties), as integers; not differentiable.</summary>
    public int[] ArgMax(int dim = -1) => F.ArgMax(this, dim);
}
