using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace CnnSharp.Kernels;

/// <summary>
/// Batch normalisation with an optional ReLU fused in, one channel per call, over NCHW spans (the compiled executor's
/// kernels: two passes forward, two passes backward, instead of the five of the unfused ops).
/// </summary>
/// <remarks>
/// <para>Layout: x, y, dy, dx are (N, C, S) with S = H·W; channel c's values are the N planes at offsets (i·C + c)·S.
/// M = N·S values per channel.</para>
/// <para>Forward: <c>y = relu?(x·scale + shift)</c>, with scale = γ·invStd and shift = β − mean·scale (training) or the
/// running statistics (eval). Statistics are two-pass (mean, then Σ(x − mean)²) with per-plane float partial sums
/// combined in double, so a channel whose mean is large next to its spread keeps its variance.</para>
/// <para>Backward (training): with dy' = dy·[y &gt; 0] when the ReLU is fused, else dy, and x̂ = (x − mean)·invStd:
/// <c>dβ += Σ dy'</c>, <c>dγ += Σ dy'·x̂</c>, <c>dx += γ·invStd·(dy' − Σdy'/M − x̂·Σ(dy'·x̂)/M)</c>, written as
/// <c>dx += A·dy' + B·x + C</c> per channel. Eval: B = C = 0. Backward kernels accumulate.</para>
/// <para>SIMD: <see cref="Vector{T}"/> over each plane with a scalar remainder; plane sums are float, channel sums double.</para>
/// </remarks>
internal static class FusedBatchNormKernels
{
    /// <summary>Channel <paramref name="c"/>'s mean and biased variance, both in double (two passes).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static (double Mean, double Variance) Statistics(ReadOnlySpan<float> x, int n, int channels, int s, int c)
    {
        double sum = 0;
        for (int i = 0; i < n; i++) sum += Sum(x.Slice((i * channels + c) * s, s));
        double mean = sum / ((double)n * s);
        double sq = 0;
        for (int i = 0; i < n; i++) sq += SumSquaredDeviation(x.Slice((i * channels + c) * s, s), (float)mean);
        return (mean, sq / ((double)n * s));
    }

    /// <summary><c>y = relu?(x·scale + shift)</c> over channel <paramref name="c"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Normalize(ReadOnlySpan<float> x, Span<float> y, int n, int channels, int s, int c, float scale, float shift, bool relu)
    {
        for (int i = 0; i < n; i++)
        {
            int o = (i * channels + c) * s;
            var xp = x.Slice(o, s);
            var yp = y.Slice(o, s);
            int j = 0;
            if (Vector.IsHardwareAccelerated && s >= Vector<float>.Count)
            {
                var vs = new Vector<float>(scale);
                var vb = new Vector<float>(shift);
                var xv = MemoryMarshal.Cast<float, Vector<float>>(xp);
                var yv = MemoryMarshal.Cast<float, Vector<float>>(yp);
                if (relu) for (int k = 0; k < xv.Length; k++) yv[k] = Vector.Max(xv[k] * vs + vb, Vector<float>.Zero);
                else for (int k = 0; k < xv.Length; k++) yv[k] = xv[k] * vs + vb;
                j = xv.Length * Vector<float>.Count;
            }
            for (; j < s; j++)
            {
                float v = xp[j] * scale + shift;
                yp[j] = relu ? Math.Max(v, 0f) : v;
            }
        }
    }

    /// <summary>Σ dy' and Σ dy'·(x − mean) over channel <paramref name="c"/> (dy' masked by y &gt; 0 when <paramref name="y"/> is not empty).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static (double SumDy, double SumDyCentered) BackwardSums(ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<float> dy,
        int n, int channels, int s, int c, float mean)
    {
        double sumDy = 0, sumDyX = 0;
        bool mask = !y.IsEmpty;
        for (int i = 0; i < n; i++)
        {
            int o = (i * channels + c) * s;
            var xp = x.Slice(o, s);
            var gp = dy.Slice(o, s);
            var yp = mask ? y.Slice(o, s) : default;
            float a = 0f, b = 0f;
            int j = 0;
            if (Vector.IsHardwareAccelerated && s >= Vector<float>.Count)
            {
                var va = Vector<float>.Zero;
                var vb = Vector<float>.Zero;
                var vm = new Vector<float>(mean);
                var xv = MemoryMarshal.Cast<float, Vector<float>>(xp);
                var gv = MemoryMarshal.Cast<float, Vector<float>>(gp);
                if (mask)
                {
                    var yv = MemoryMarshal.Cast<float, Vector<float>>(yp);
                    for (int k = 0; k < xv.Length; k++)
                    {
                        var g = Vector.ConditionalSelect(Vector.GreaterThan(yv[k], Vector<float>.Zero), gv[k], Vector<float>.Zero);
                        va += g;
                        vb += g * (xv[k] - vm);
                    }
                }
                else
                {
                    for (int k = 0; k < xv.Length; k++)
                    {
                        va += gv[k];
                        vb += gv[k] * (xv[k] - vm);
                    }
                }
                a = Vector.Sum(va);
                b = Vector.Sum(vb);
                j = xv.Length * Vector<float>.Count;
            }
            for (; j < s; j++)
            {
                float g = !mask || yp[j] > 0f ? gp[j] : 0f;
                a += g;
                b += g * (xp[j] - mean);
            }
            sumDy += a;
            sumDyX += b;
        }
        return (sumDy, sumDyX);
    }

    /// <summary><c>dx += A·dy' + B·x + C</c> over channel <paramref name="c"/> (dy' masked by y &gt; 0 when <paramref name="y"/> is not empty).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void BackwardInput(ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx,
        int n, int channels, int s, int c, float a, float b, float k)
    {
        bool mask = !y.IsEmpty;
        for (int i = 0; i < n; i++)
        {
            int o = (i * channels + c) * s;
            var xp = x.Slice(o, s);
            var gp = dy.Slice(o, s);
            var dp = dx.Slice(o, s);
            var yp = mask ? y.Slice(o, s) : default;
            int j = 0;
            if (Vector.IsHardwareAccelerated && s >= Vector<float>.Count)
            {
                var va = new Vector<float>(a);
                var vb = new Vector<float>(b);
                var vk = new Vector<float>(k);
                var xv = MemoryMarshal.Cast<float, Vector<float>>(xp);
                var gv = MemoryMarshal.Cast<float, Vector<float>>(gp);
                var dv = MemoryMarshal.Cast<float, Vector<float>>(dp);
                if (mask)
                {
                    var yv = MemoryMarshal.Cast<float, Vector<float>>(yp);
                    for (int q = 0; q < xv.Length; q++)
                    {
                        var g = Vector.ConditionalSelect(Vector.GreaterThan(yv[q], Vector<float>.Zero), gv[q], Vector<float>.Zero);
                        dv[q] += va * g + vb * xv[q] + vk;
                    }
                }
                else
                {
                    for (int q = 0; q < xv.Length; q++) dv[q] += va * gv[q] + vb * xv[q] + vk;
                }
                j = xv.Length * Vector<float>.Count;
            }
            for (; j < s; j++)
            {
                float g = !mask || yp[j] > 0f ? gp[j] : 0f;
                dp[j] += a * g + b * xp[j] + k;
            }
        }
    }

    private static float Sum(ReadOnlySpan<float> x) => System.Numerics.Tensors.TensorPrimitives.Sum(x);

    private static double SumSquaredDeviation(ReadOnlySpan<float> x, float mean)
    {
        float acc = 0f;
        int j = 0;
        if (Vector.IsHardwareAccelerated && x.Length >= Vector<float>.Count)
        {
            var vm = new Vector<float>(mean);
            var va = Vector<float>.Zero;
            var xv = MemoryMarshal.Cast<float, Vector<float>>(x);
            for (int k = 0; k < xv.Length; k++)
            {
                var d = xv[k] - vm;
                va += d * d;
            }
            acc = Vector.Sum(va);
            j = xv.Length * Vector<float>.Count;
        }
        for (; j < x.Length; j++)
        {
            float d = x[j] - mean;
            acc += d * d;
        }
        return acc;
    }
}
