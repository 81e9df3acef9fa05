namespace CnnSharp.Functional;

/// <summary>NumPy/PyTorch broadcasting: shapes aligned at the trailing dimension; sizes must match or be 1.</summary>
internal static class Broadcast
{
    /// <exception cref="ShapeException">The shapes cannot be broadcast together.</exception>
    public static Shape ResultShape(Shape a, Shape b, string op)
    {
        int rank = Math.Max(a.Rank, b.Rank);
        var dims = new int[rank];
        for (int i = 0; i < rank; i++)
        {
            int da = i < rank - a.Rank ? 1 : a[i - (rank - a.Rank)];
            int db = i < rank - b.Rank ? 1 : b[i - (rank - b.Rank)];
            if (da != db && da != 1 && db != 1)
                throw new ShapeException($"{op}: shapes {a} and {b} cannot be broadcast (dimension {i}: {da} vs {db})");
            dims[i] = da == 1 ? db : da;
        }
        return new Shape(dims);
    }

    /// <summary>Strides of <paramref name="s"/> viewed in <paramref name="result"/>'s rank, 0 where the dimension is broadcast.</summary>
    public static int[] Strides(Shape s, Shape result)
    {
        int rank = result.Rank, off = rank - s.Rank;
        var strides = new int[rank];
        int acc = 1;
        for (int i = s.Rank - 1; i >= 0; i--)
        {
            strides[i + off] = s[i] == 1 ? 0 : acc;
            acc *= s[i];
        }
        return strides;
    }

    /// <summary>Calls <paramref name="body"/>(outIndex, aOffset, bOffset) for every output element in row-major order.</summary>
    public static void ForEach(Shape result, int[] stridesA, int[] stridesB, Action<int, int, int> body)
    {
        int rank = result.Rank;
        var idx = new int[rank];
        int offA = 0, offB = 0;
        for (int i = 0; i < result.Numel; i++)
        {
            body(i, offA, offB);
            for (int d = rank - 1; d >= 0; d--)
            {
                idx[d]++;
                offA += stridesA[d];
                offB += stridesB[d];
                if (idx[d] < result[d]) break;
                offA -= stridesA[d] * idx[d];
                offB -= stridesB[d] * idx[d];
                idx[d] = 0;
            }
        }
    }
}
