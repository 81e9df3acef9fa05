using CnnSharp.Autograd;

namespace CnnSharp.Tests.TestUtilities;

/// <summary>
/// Finite-difference gradient checks (PyTorch's gradcheck, adapted): the library's float32 analytical gradient is compared
/// with central differences (h = 1e-6) of an independent float64 reference, for the scalar L = sum(op(x) * g) with a fixed
/// random upstream gradient g.
/// </summary>
public static class GradCheck
{
    /// <summary>Inputs are given as float arrays with shapes; <paramref name="differentiable"/> selects which get gradients.</summary>
    /// <param name="shapes">Shape of each input.</param>
    /// <param name="values">Values of each input (float32-representable, so library and reference see the same numbers).</param>
    /// <param name="op">The library op under test.</param>
    /// <param name="reference">The float64 reference: inputs to flat output (same element order as the op's output).</param>
    /// <param name="differentiable">Which inputs to check (default: all).</param>
    public static void Check(int[][] shapes, float[][] values, Func<Tensor[], Tensor> op, Func<double[][], double[]> reference,
        bool[]? differentiable = null, Tolerance? tolerance = null, int seed = 7, double h = 1e-6)
    {
        var tol = tolerance ?? Tolerance.Gradient;
        int n = shapes.Length;
        differentiable ??= Enumerable.Repeat(true, n).ToArray();
        var inputs = new Tensor[n];
        for (int i = 0; i < n; i++)
        {
            inputs[i] = Tensor.FromArray(values[i], shapes[i]);
            if (differentiable[i]) inputs[i].RequiresGrad = true;
        }

        using (GradMode.EnableGrad())
        {
            var y = op(inputs);
            var rng = new Generator((ulong)seed);
            var g = new float[y.Numel];
            for (int i = 0; i < g.Length; i++) g[i] = (float)(rng.NextDouble() * 2 - 1);
            var gy = Tensor.FromArray(g, y.Shape.ToArray());

            var asDouble = values.Select(v => v.Select(f => (double)f).ToArray()).ToArray();
            var refOut = reference(asDouble);
            Assert.True(refOut.Length == y.Numel, $"reference produced {refOut.Length} values, op produced {y.Numel}");
            y.Backward(gy);

            for (int i = 0; i < n; i++)
            {
                if (!differentiable[i]) continue;
                var numeric = new double[values[i].Length];
                for (int j = 0; j < numeric.Length; j++)
                {
                    double orig = asDouble[i][j];
                    asDouble[i][j] = orig + h;
                    double plus = Dot(reference(asDouble), g);
                    asDouble[i][j] = orig - h;
                    double minus = Dot(reference(asDouble), g);
                    asDouble[i][j] = orig;
                    numeric[j] = (plus - minus) / (2 * h);
                }
                var grad = inputs[i].Grad;
                Assert.True(grad is not null, $"input {i} received no gradient");
                TensorAssert.Close(numeric, grad!.Data, tol, $"gradient of input {i}");
            }
        }
    }

    /// <summary>Single-input convenience overload.</summary>
    public static void Check(int[] shape, float[] values, Func<Tensor, Tensor> op, Func<double[], double[]> reference,
        Tolerance? tolerance = null, int seed = 7) =>
        Check([shape], [values], t => op(t[0]), d => reference(d[0]), null, tolerance, seed);

    private static double Dot(double[] a, float[] b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++) s += a[i] * b[i];
        return s;
    }

    /// <summary>Random values in [-1, 1) whose pairwise gaps are at least <paramref name="minGap"/> (no ties for max/ReLU kinks).</summary>
    public static float[] DistinctValues(int count, int seed, float minGap = 1e-3f)
    {
        var rng = new Generator((ulong)seed);
        // A shuffled grid guarantees distinct values; a small jitter keeps them off exact zeros and integers.
        var vals = new float[count];
        float step = Math.Max(minGap, 2f / Math.Max(1, count));
        for (int i = 0; i < count; i++) vals[i] = -1f + step * i + step * 0.25f;
        rng.Shuffle(vals.AsSpan());
        return vals;
    }

    /// <summary>Random values uniform in [lo, hi).</summary>
    public static float[] RandomValues(int count, int seed, float lo = -1f, float hi = 1f)
    {
        var rng = new Generator((ulong)seed);
        var vals = new float[count];
        for (int i = 0; i < count; i++) vals[i] = (float)(lo + (hi - lo) * rng.NextDouble());
        return vals;
    }
}
