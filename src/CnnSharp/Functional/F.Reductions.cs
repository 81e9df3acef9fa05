using System.Numerics.Tensors;
using CnnSharp.Autograd;
using CnnSharp.Compile;
using CnnSharp.Kernels;

namespace CnnSharp.Functional;

public static partial class F
{
    /// <summary>Sum of all elements, shape () (PyTorch's <c>x.sum()</c>); accumulated in double.</summary>
    public static Tensor Sum(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        double s = 0;
        foreach (float v in x.Data) s += v;
        var y = Tensor.Scalar((float)s);
        y.SetGradFn(new SumAllBackward(x, 1f));
        if (Tracer.Current is not null) Tracer.Describe(y, new ReduceSpec(null, false, false, static i => Sum(i[0])));
        return y;
    }

    /// <summary>Mean of all elements, shape () (PyTorch's <c>x.mean()</c>).</summary>
    public static Tensor Mean(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        double s = 0;
        foreach (float v in x.Data) s += v;
        var y = Tensor.Scalar((float)(s / x.Numel));
        y.SetGradFn(new SumAllBackward(x, 1f / x.Numel));
        if (Tracer.Current is not null) Tracer.Describe(y, new ReduceSpec(null, false, true, static i => Mean(i[0])));
        return y;
    }

    /// <summary>Sum over dimension <paramref name="dim"/>; the dimension is kept with size 1 when <paramref name="keepDim"/>.</summary>
    /// <exception cref="ShapeException"><paramref name="dim"/> is out of range.</exception>
    public static Tensor Sum(Tensor x, int dim, bool keepDim = false) => ReduceDim(x, dim, keepDim, mean: false);

    /// <summary>Mean over dimension <paramref name="dim"/>; the dimension is kept with size 1 when <paramref name="keepDim"/>.</summary>
    /// <exception cref="ShapeException"><paramref name="dim"/> is out of range.</exception>
    public static Tensor Mean(Tensor x, int dim, bool keepDim = false) => ReduceDim(x, dim, keepDim, mean: true);

    /// <summary>Index of the largest value along <paramref name="dim"/> (the first on ties, NaN counts as largest), for each other position.</summary>
    /// <returns>Flat row-major indices over the remaining dimensions, e.g. one class index per row of (N, classes).</returns>
    /// <exception cref="ShapeException"><paramref name="dim"/> is out of range.</exception>
    public static int[] ArgMax(Tensor x, int dim = -1)
    {
        ArgumentNullException.ThrowIfNull(x);
        int d = x.Shape.NormalizeAxis(dim);
        var (outer, size, inner) = Split(x.Shape, d);
        var result = new int[outer * inner];
        ReadOnlySpan<float> data = x.Data;
        for (int o = 0; o < outer; o++)
        {
            for (int i = 0; i < inner; i++)
            {
                int best = 0;
                float bestVal = data[o * size * inner + i];
                for (int k = 1; k < size; k++)
                {
                    float v = data[(o * size + k) * inner + i];
                    if (v > bestVal || (float.IsNaN(v) && !float.IsNaN(bestVal)))
                    {
                        best = k;
                        bestVal = v;
                    }
                }
                result[o * inner + i] = best;
            }
        }
        return result;
    }

    internal static (int Outer, int Size, int Inner) Split(Shape shape, int dim)
    {
        int outer = 1, inner = 1;
        for (int i = 0; i < dim; i++) outer *= shape[i];
        for (int i = dim + 1; i < shape.Rank; i++) inner *= shape[i];
        return (outer, shape[dim], inner);
    }

    private static void TraceReduceDim(Tensor y, int dim, bool keepDim, bool mean) =>
        Tracer.Describe(y, new ReduceSpec(dim, keepDim, mean, i => ReduceDim(i[0], dim, keepDim, mean)));

    private static Tensor ReduceDim(Tensor x, int dim, bool keepDim, bool mean)
    {
        ArgumentNullException.ThrowIfNull(x);
        int d = x.Shape.NormalizeAxis(dim);
        var (outer, size, inner) = Split(x.Shape, d);
        var dims = x.Shape.ToList();
        if (keepDim) dims[d] = 1;
        else dims.RemoveAt(d);
        var y = Tensor.Zeros(new Shape([.. dims]));
        ReadOnlySpan<float> xd = x.Data;
        Span<float> yd = y.Data;
        float scale = mean ? 1f / size : 1f;
        for (int o = 0; o < outer; o++)
        {
            for (int i = 0; i < inner; i++)
            {
                double s = 0;
                for (int k = 0; k < size; k++) s += xd[(o * size + k) * inner + i];
                yd[o * inner + i] = (float)(s * scale);
            }
        }
        y.SetGradFn(new ReduceDimBackward(x, outer, size, inner, scale));
        if (Tracer.Current is not null) TraceReduceDim(y, dim, keepDim, mean);
        return y;
    }
}

file sealed class SumAllBackward(Tensor x, float scale) : Node(x)
{
    protected internal override void Backward(Tensor gradOutput)
    {
        float step = gradOutput.Data[0] * scale;
        if (GradStorageOf(x) is { } g) ElementBlocks.For(g.Length, (s, e) => TensorPrimitives.Add(g.AsSpan(s, e - s), step, g.AsSpan(s, e - s)));
    }
}

file sealed class ReduceDimBackward(Tensor x, int outer, int size, int inner, float scale) : Node(x)
{
    protected internal override void Backward(Tensor gradOutput)
    {
        var g = GradOf(x);
        if (g.IsEmpty) return;
        ReadOnlySpan<float> gy = gradOutput.Data;
        for (int o = 0; o < outer; o++)
            for (int k = 0; k < size; k++)
                for (int i = 0; i < inner; i++)
                    g[(o * size + k) * inner + i] += gy[o * inner + i] * scale;
    }
}
