using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace CnnSharp.Kernels;

/// <summary>
/// The element-wise binary operators: F's Add, Sub, Mul, Div (with gradients) and the ONNX runtime's Add, Sub, Mul, Div,
/// Pow, Max, Min (forward only: <see cref="BinaryKernels.Contribution"/> and <see cref="BinaryKernels.Accumulate"/>
/// reject Pow, Max and Min).
/// </summary>
internal enum Arithmetic { Add, Sub, Mul, Div, Pow, Max, Min }

/// <summary>
/// <c>y = a ∘ b</c> (∘ one of +, −, ×, ÷, and forward only pow, max, min) and its gradients over one row of a broadcast op, where each operand is either a
/// run as long as the row or a single value repeated along it (a span of length 1).
/// </summary>
/// <remarks>
/// Each output element is one IEEE operation, as in a scalar loop, so results do not depend on how rows are cut.
/// Gradients: <c>∂/∂a = gy</c>, <c>gy</c>, <c>gy·b</c>, <c>gy/b</c> and <c>∂/∂b = gy</c>, <c>−gy</c>, <c>gy·a</c>,
/// <c>−(gy·a)/(b·b)</c> for +, −, ×, ÷.
/// </remarks>
internal static class BinaryKernels
{
    /// <summary><c>y = a ∘ b</c>; <paramref name="a"/> and <paramref name="b"/> have y's length or length 1 (repeated).</summary>
    public static void Forward(Arithmetic op, ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y)
    {
        bool sa = a.Length != y.Length, sb = b.Length != y.Length;
        if (sa && sb)
        {
            y.Fill(Apply(op, a[0], b[0]));
            return;
        }
        switch (op)
        {
            case Arithmetic.Add:
                if (sa) TensorPrimitives.Add(b, a[0], y);
                else if (sb) TensorPrimitives.Add(a, b[0], y);
                else TensorPrimitives.Add(a, b, y);
                break;
            case Arithmetic.Sub:
                if (sa) TensorPrimitives.Subtract(a[0], b, y);
                else if (sb) TensorPrimitives.Subtract(a, b[0], y);
                else TensorPrimitives.Subtract(a, b, y);
                break;
            case Arithmetic.Mul:
                if (sa) TensorPrimitives.Multiply(b, a[0], y);
                else if (sb) TensorPrimitives.Multiply(a, b[0], y);
                else TensorPrimitives.Multiply(a, b, y);
                break;
            case Arithmetic.Div:
                if (sa) TensorPrimitives.Divide(a[0], b, y);
                else if (sb) TensorPrimitives.Divide(a, b[0], y);
                else TensorPrimitives.Divide(a, b, y);
                break;
            case Arithmetic.Max:
                if (sa) TensorPrimitives.Max(b, a[0], y);
                else if (sb) TensorPrimitives.Max(a, b[0], y);
                else TensorPrimitives.Max(a, b, y);
                break;
            case Arithmetic.Min:
                if (sa) TensorPrimitives.Min(b, a[0], y);
                else if (sb) TensorPrimitives.Min(a, b[0], y);
                else TensorPrimitives.Min(a, b, y);
                break;
            default:
                for (int i = 0; i < y.Length; i++) y[i] = MathF.Pow(a[sa ? 0 : i], b[sb ? 0 : i]);
                break;
        }
    }

    /// <summary>The scalar operator (NaN propagates through Max and Min, as TensorPrimitives does on the vector path).</summary>
    public static float Apply(Arithmetic op, float x, float y) => op switch
    {
        Arithmetic.Add => x + y,
        Arithmetic.Sub => x - y,
        Arithmetic.Mul => x * y,
        Arithmetic.Div => x / y,
        Arithmetic.Pow => MathF.Pow(x, y),
        Arithmetic.Max => float.IsNaN(x) || float.IsNaN(y) ? float.NaN : Math.Max(x, y),
        _ => float.IsNaN(x) || float.IsNaN(y) ? float.NaN : Math.Min(x, y),
    };

    /// <summary>
    /// <paramref name="contribution"/> = the gradient reaching a (<paramref name="forA"/>) or b from gy, element by element
    /// (the signed terms listed in the class remarks); operands have gy's length or length 1.
    /// </summary>
    public static void Contribution(Arithmetic op, bool forA, ReadOnlySpan<float> gy, ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> contribution)
    {
        switch (op)
        {
            case Arithmetic.Add:
                gy.CopyTo(contribution);
                break;
            case Arithmetic.Sub:
                if (forA) gy.CopyTo(contribution);
                else TensorPrimitives.Negate(gy, contribution);
                break;
            case Arithmetic.Mul:
                MultiplyBy(gy, forA ? b : a, contribution);
                break;
            case Arithmetic.Div:
                if (forA)
                {
                    if (b.Length != gy.Length) TensorPrimitives.Divide(gy, b[0], contribution);
                    else TensorPrimitives.Divide(gy, b, contribution);
                    break;
                }
                // -(gy·a)/(b·b), in that order (as the scalar formula rounds it).
                MultiplyBy(gy, a, contribution);
                if (b.Length != gy.Length) TensorPrimitives.Divide(contribution, b[0] * b[0], contribution);
                else DivideBySquare(contribution, b);
                TensorPrimitives.Negate(contribution, contribution);
                break;
            default:
                throw NoGradient(op);
        }
    }

    /// <summary>
    /// <paramref name="gradient"/> += the gradient reaching a or b (a run of gy's length); <paramref name="scratch"/> (gy's
    /// length) is used where the term needs a temporary. Same bits as adding <see cref="Contribution"/>.
    /// </summary>
    public static void Accumulate(Arithmetic op, bool forA, ReadOnlySpan<float> gy, ReadOnlySpan<float> a, ReadOnlySpan<float> b,
        Span<float> gradient, Span<float> scratch)
    {
        switch (op)
        {
            case Arithmetic.Add:
            case Arithmetic.Sub when forA:
                TensorPrimitives.Add(gradient, gy, gradient);
                break;
            case Arithmetic.Sub:
                // g - gy and g + (-gy) round the same.
                TensorPrimitives.Subtract(gradient, gy, gradient);
                break;
            case Arithmetic.Mul:
                var other = forA ? b : a;
                // MultiplyAdd is not fused: (gy·other) + g, rounded twice, as the scalar formula.
                if (other.Length != gy.Length) TensorPrimitives.MultiplyAdd(gy, other[0], gradient, gradient);
                else TensorPrimitives.MultiplyAdd(gy, other, gradient, gradient);
                break;
            case Arithmetic.Div:
                if (forA)
                {
                    AccumulateQuotient(gy, b, gradient);
                    break;
                }
                Contribution(op, forA, gy, a, b, scratch);
                TensorPrimitives.Add(gradient, scratch, gradient);
                break;
            default:
                throw NoGradient(op);
        }
    }

    private static NotSupportedException NoGradient(Arithmetic op) => new($"{op} has no gradient kernel (it runs forward only, in the ONNX runtime)");

    /// <summary><c>gradient += numerator / denominator</c>; the denominator has the numerator's length or length 1.</summary>
    public static void AccumulateQuotient(ReadOnlySpan<float> numerator, ReadOnlySpan<float> denominator, Span<float> gradient)
    {
        bool scalar = denominator.Length != numerator.Length;
        int i = 0;
        if (Vector.IsHardwareAccelerated && numerator.Length >= Vector<float>.Count)
        {
            var n = MemoryMarshal.Cast<float, Vector<float>>(numerator);
            var g = MemoryMarshal.Cast<float, Vector<float>>(gradient);
            if (scalar)
            {
                var d = new Vector<float>(denominator[0]);
                for (int v = 0; v < n.Length; v++) g[v] += n[v] / d;
            }
            else
            {
                var d = MemoryMarshal.Cast<float, Vector<float>>(denominator);
                for (int v = 0; v < n.Length; v++) g[v] += n[v] / d[v];
            }
            i = n.Length * Vector<float>.Count;
        }
        for (; i < numerator.Length; i++) gradient[i] += numerator[i] / denominator[scalar ? 0 : i];
    }

    private static void MultiplyBy(ReadOnlySpan<float> gy, ReadOnlySpan<float> factor, Span<float> destination)
    {
        if (factor.Length != gy.Length) TensorPrimitives.Multiply(gy, factor[0], destination);
        else TensorPrimitives.Multiply(gy, factor, destination);
    }

    // values[i] /= b[i]·b[i]
    private static void DivideBySquare(Span<float> values, ReadOnlySpan<float> b)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && values.Length >= Vector<float>.Count)
        {
            var v = MemoryMarshal.Cast<float, Vector<float>>(values);
            var bv = MemoryMarshal.Cast<float, Vector<float>>(b);
            for (int k = 0; k < v.Length; k++) v[k] /= bv[k] * bv[k];
            i = v.Length * Vector<float>.Count;
        }
        for (; i < values.Length; i++) values[i] /= b[i] * b[i];
    }
}
