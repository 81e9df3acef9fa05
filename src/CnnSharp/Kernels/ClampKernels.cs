using System.Numerics;

namespace CnnSharp.Kernels;

/// <summary>Element-wise clamp to [lo, hi] and its gradient mask, vectorised with <see cref="Vector{T}"/> (width set by the
/// hardware; the scalar tail computes the same expression).</summary>
internal static class ClampKernels
{
    /// <summary><c>y[i] = x[i] &lt; lo ? lo : x[i] &gt; hi ? hi : x[i]</c>: NaN fails both tests and passes through, -0 stays -0
    /// (the eager <c>F.Relu6</c>'s expression, bit for bit).</summary>
    public static void Forward(ReadOnlySpan<float> x, Span<float> y, float lo, float hi)
    {
        if (y.Length < x.Length) throw new ArgumentException("ClampKernels: output shorter than input", nameof(y));
        int i = 0;
        if (Vector.IsHardwareAccelerated && x.Length >= Vector<float>.Count)
        {
            var vlo = new Vector<float>(lo);
            var vhi = new Vector<float>(hi);
            for (; i <= x.Length - Vector<float>.Count; i += Vector<float>.Count)
            {
                var v = new Vector<float>(x[i..]);
                v = Vector.ConditionalSelect(Vector.LessThan(v, vlo), vlo, Vector.ConditionalSelect(Vector.GreaterThan(v, vhi), vhi, v));
                v.CopyTo(y[i..]);
            }
        }
        for (; i < x.Length; i++)
        {
            float v = x[i];
            y[i] = v < lo ? lo : v > hi ? hi : v;
        }
    }

    /// <summary><c>dx[i] += dy[i]</c> where <c>lo &lt; y[i] &lt; hi</c> or y[i] is NaN (the clamp's output; the eager ReLU6
    /// backward's test on its input, which selects the same elements).</summary>
    public static void Backward(ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx, float lo, float hi)
    {
        if (dy.Length < y.Length || dx.Length < y.Length) throw new ArgumentException("ClampKernels: gradient shorter than output", nameof(dx));
        int i = 0;
        if (Vector.IsHardwareAccelerated && y.Length >= Vector<float>.Count)
        {
            var vlo = new Vector<float>(lo);
            var vhi = new Vector<float>(hi);
            for (; i <= y.Length - Vector<float>.Count; i += Vector<float>.Count)
            {
                var v = new Vector<float>(y[i..]);
                var blocked = Vector.BitwiseOr(Vector.LessThanOrEqual(v, vlo), Vector.GreaterThanOrEqual(v, vhi));
                var old = new Vector<float>(dx[i..]);
                // Blocked elements keep dx exactly (adding 0 would turn -0 into +0).
                Vector.ConditionalSelect(blocked, old, old + new Vector<float>(dy[i..])).CopyTo(dx[i..]);
            }
        }
        for (; i < y.Length; i++)
            if (!(y[i] <= lo || y[i] >= hi)) dx[i] += dy[i];
    }
}
