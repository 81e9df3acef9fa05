namespace CnnSharp.Onnx.Runtime;

/// <summary>
/// NumPy-style (multidirectional) broadcasting for element-wise operators: shapes are aligned at their last dimension,
/// and each pair of sizes must be equal or one of them 1.
/// </summary>
internal static class Broadcasting
{
    /// <summary>The broadcast shape of <paramref name="a"/> and <paramref name="b"/>.</summary>
    /// <exception cref="ShapeException">The shapes are incompatible.</exception>
    public static int[] Shape(int[] a, int[] b, string op)
    {
        int rank = Math.Max(a.Length, b.Length);
        var result = new int[rank];
        for (int i = 0; i < rank; i++)
        {
            int da = i - (rank - a.Length) >= 0 ? a[i - (rank - a.Length)] : 1;
            int db = i - (rank - b.Length) >= 0 ? b[i - (rank - b.Length)] : 1;
            if (da != db && da != 1 && db != 1)
                throw new ShapeException($"{op}: shapes {CnnSharp.Shape.Format(a)} and {CnnSharp.Shape.Format(b)} cannot be broadcast together (dimension {i}: {da} vs {db})");
            result[i] = da == 1 ? db : da;
        }
        return result;
    }

    /// <summary>Whether <paramref name="shape"/> broadcasts to exactly <paramref name="target"/> (unidirectional).</summary>
    public static bool BroadcastsTo(int[] shape, int[] target)
    {
        if (shape.Length > target.Length) return false;
        int offset = target.Length - shape.Length;
        for (int i = 0; i < shape.Length; i++)
            if (shape[i] != 1 && shape[i] != target[offset + i]) return false;
        return true;
    }

    /// <summary>Element strides of <paramref name="shape"/> seen through <paramref name="target"/> (0 on broadcast dimensions).</summary>
    public static int[] Strides(int[] shape, int[] target)
    {
        var strides = new int[target.Length];
        int offset = target.Length - shape.Length;
        int acc = 1;
        for (int i = shape.Length - 1; i >= 0; i--)
        {
            strides[offset + i] = shape[i] == 1 ? 0 : acc;
            acc *= shape[i];
        }
        return strides;
    }

    /// <summary>
    /// Visits the output row by row (the last dimension): <paramref name="row"/>(outOffset, aOffset, bOffset) with the
    /// row length and the inner steps of a and b (1 or 0) fixed for the whole sweep.
    /// </summary>
    public static void ForEachRow(int[] outShape, int[] aStrides, int[] bStrides, RowAction row)
    {
        int rank = outShape.Length;
        int total = OnnxValue.Numel(outShape);
        if (total == 0) return;
        if (rank == 0)
        {
            row(0, 0, 0);
            return;
        }
        int length = outShape[rank - 1];
        int rows = total / length;
        var index = new int[rank];
        int aOff = 0, bOff = 0;
        for (int r = 0; r < rows; r++)
        {
            row(r * length, aOff, bOff);
            // Odometer over the outer dimensions.
            for (int d = rank - 2; d >= 0; d--)
            {
                index[d]++;
                aOff += aStrides[d];
                bOff += bStrides[d];
                if (index[d] < outShape[d]) break;
                aOff -= aStrides[d] * outShape[d];
                bOff -= bStrides[d] * outShape[d];
                index[d] = 0;
            }
        }
    }

    /// <summary>Copies <paramref name="source"/> (shape <paramref name="shape"/>) broadcast to <paramref name="target"/> into <paramref name="destination"/>.</summary>
    public static void Expand<T>(T[] source, int[] shape, int[] target, T[] destination)
    {
        var strides = Strides(shape, target);
        int rank = target.Length;
        int inner = rank == 0 ? 1 : target[rank - 1];
        int step = rank == 0 ? 0 : strides[rank - 1];
        ForEachRow(target, strides, strides, (o, a, _) =>
        {
            if (step == 1) Array.Copy(source, a, destination, o, inner);
            else Array.Fill(destination, source[a], o, inner);
        });
    }

    /// <summary>Per-row callback of <see cref="ForEachRow"/>.</summary>
    public delegate void RowAction(int outOffset, int aOffset, int bOffset);
}
