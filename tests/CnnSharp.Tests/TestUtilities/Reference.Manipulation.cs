namespace CnnSharp.Tests.TestUtilities;

/// <summary>Naive index-math references for Cat, Stack, Slice and Permute: one full multi-index per element.</summary>
public static partial class Reference
{
    public static int[] Unravel(int flat, int[] shape)
    {
        var idx = new int[shape.Length];
        for (int d = shape.Length - 1; d >= 0; d--)
        {
            idx[d] = flat % shape[d];
            flat /= shape[d];
        }
        return idx;
    }

    public static int Ravel(int[] idx, int[] shape)
    {
        int flat = 0;
        for (int d = 0; d < shape.Length; d++) flat = flat * shape[d] + idx[d];
        return flat;
    }

    private static int Numel(int[] shape) => shape.Aggregate(1, (a, b) => a * b);

    /// <summary><c>y[i] = x[j]</c> with <c>j[perm[k]] = i[k]</c>.</summary>
    public static double[] Permute(double[] x, int[] shape, int[] perm)
    {
        var outShape = perm.Select(p => shape[p]).ToArray();
        var y = new double[x.Length];
        for (int f = 0; f < y.Length; f++)
        {
            var i = Unravel(f, outShape);
            var j = new int[shape.Length];
            for (int k = 0; k < perm.Length; k++) j[perm[k]] = i[k];
            y[f] = x[Ravel(j, shape)];
        }
        return y;
    }

    /// <summary>Concatenation along <paramref name="dim"/> (non-negative): each output index is found in the input that covers it.</summary>
    public static double[] Cat(double[][] xs, int[][] shapes, int dim)
    {
        var outShape = (int[])shapes[0].Clone();
        outShape[dim] = shapes.Sum(s => s[dim]);
        var y = new double[Numel(outShape)];
        for (int f = 0; f < y.Length; f++)
        {
            var i = Unravel(f, outShape);
            int t = 0;
            while (i[dim] >= shapes[t][dim])
            {
                i[dim] -= shapes[t][dim];
                t++;
            }
            y[f] = xs[t][Ravel(i, shapes[t])];
        }
        return y;
    }

    /// <summary>Stacking along a new dimension <paramref name="dim"/> (non-negative).</summary>
    public static double[] Stack(double[][] xs, int[] shape, int dim)
    {
        var outShape = shape.Take(dim).Append(xs.Length).Concat(shape.Skip(dim)).ToArray();
        var y = new double[Numel(outShape)];
        for (int f = 0; f < y.Length; f++)
        {
            var i = Unravel(f, outShape).ToList();
            int t = i[dim];
            i.RemoveAt(dim);
            y[f] = xs[t][Ravel([.. i], shape)];
        }
        return y;
    }

    /// <summary>The indices Python's <c>range(*slice(start, end, step).indices(size))</c> selects, step &gt; 0.</summary>
    public static int[] PythonSliceIndices(int size, int? start, int? end, int step)
    {
        int Bound(int? v, int dflt)
        {
            if (v is not int b) return dflt;
            if (b < 0) b += size;
            return Math.Clamp(b, 0, size);
        }
        var list = new List<int>();
        for (int k = Bound(start, 0); k < Bound(end, size); k += step) list.Add(k);
        return [.. list];
    }

    /// <summary>Selects <paramref name="indices"/> of dimension <paramref name="dim"/> (non-negative).</summary>
    public static double[] Select(double[] x, int[] shape, int dim, int[] indices)
    {
        var outShape = (int[])shape.Clone();
        outShape[dim] = indices.Length;
        var y = new double[Numel(outShape)];
        for (int f = 0; f < y.Length; f++)
        {
            var i = Unravel(f, outShape);
            i[dim] = indices[i[dim]];
            y[f] = x[Ravel(i, shape)];
        }
        return y;
    }
}
