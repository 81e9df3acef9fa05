namespace CnnSharp.Onnx.Runtime;

/// <summary>Index arithmetic shared by the data-movement operators (Transpose, Slice, Tile, Pad, ...).</summary>
internal static class Layout
{
    /// <summary>Row-major strides of <paramref name="shape"/> in elements.</summary>
    public static long[] Strides(ReadOnlySpan<int> shape)
    {
        var s = new long[shape.Length];
        long acc = 1;
        for (int i = shape.Length - 1; i >= 0; i--)
        {
            s[i] = acc;
            acc *= shape[i];
        }
        return s;
    }

    /// <summary>Product of <paramref name="shape"/>[<paramref name="start"/>..<paramref name="end"/>).</summary>
    public static int Product(ReadOnlySpan<int> shape, int start, int end)
    {
        long p = 1;
        for (int i = start; i < end; i++) p *= shape[i];
        return checked((int)p);
    }

    /// <summary>
    /// <c>dst[flat(i)] = src[baseOffset + Σ_d i_d·srcStrides[d]]</c> for every index i of <paramref name="outShape"/>
    /// (strides may be zero or negative): the copy under Transpose, Slice and Expand.
    /// </summary>
    public static void StridedCopy<T>(T[] src, long baseOffset, ReadOnlySpan<int> outShape, ReadOnlySpan<long> srcStrides, T[] dst)
    {
        int total = OnnxValue.Numel(outShape);
        if (total == 0) return;
        // Merge adjacent axes that are adjacent in the source too (stride[d-1] = stride[d]·shape[d]) and drop size-1
        // axes, so rows are as long as possible: a channel shuffle's Transpose copies whole H·W planes, not W-long rows.
        var mergedShape = new int[outShape.Length];
        var mergedStrides = new long[outShape.Length];
        int rank = 0;
        for (int d = 0; d < outShape.Length; d++)
        {
            if (outShape[d] == 1) continue;
            if (rank > 0 && mergedStrides[rank - 1] == srcStrides[d] * outShape[d])
            {
                mergedShape[rank - 1] *= outShape[d];
                mergedStrides[rank - 1] = srcStrides[d];
                continue;
            }
            mergedShape[rank] = outShape[d];
            mergedStrides[rank++] = srcStrides[d];
        }
        if (rank == 0)
        {
            dst[0] = src[baseOffset];
            return;
        }
        outShape = mergedShape.AsSpan(0, rank);
        srcStrides = mergedStrides.AsSpan(0, rank);
        int inner = outShape[rank - 1];
        long innerStride = srcStrides[rank - 1];
        var index = new int[rank];
        long offset = baseOffset;
        for (int o = 0; o < total; o += inner)
        {
            if (innerStride == 1) Array.Copy(src, offset, dst, o, inner);
            else
            {
                long p = offset;
                for (int i = 0; i < inner; i++, p += innerStride) dst[o + i] = src[p];
            }
            for (int d = rank - 2; d >= 0; d--)
            {
                index[d]++;
                offset += srcStrides[d];
                if (index[d] < outShape[d]) break;
                offset -= srcStrides[d] * outShape[d];
                index[d] = 0;
            }
        }
    }

    /// <summary>
    /// <c>dst[i] = src[maps[0][i_0], …, maps[r-1][i_r-1]]</c> for every index i of the output (whose dimension d has
    /// <c>maps[d].Length</c> entries), or <paramref name="fill"/> where any map entry is -1: the copy under Pad and Tile.
    /// </summary>
    public static void MapCopy<T>(T[] src, ReadOnlySpan<int> inShape, int[][] maps, T[] dst, T fill)
    {
        int rank = maps.Length;
        var outShape = maps.Select(m => m.Length).ToArray();
        int total = OnnxValue.Numel(outShape);
        if (total == 0) return;
        if (rank == 0)
        {
            dst[0] = src[0];
            return;
        }
        var strides = Strides(inShape);
        int[] last = maps[rank - 1];
        int inner = last.Length;
        var index = new int[rank];
        for (int o = 0; o < total; o += inner)
        {
            long offset = 0;
            bool inside = true;
            for (int d = 0; d < rank - 1 && inside; d++)
            {
                int m = maps[d][index[d]];
                if (m < 0) inside = false;
                else offset += m * strides[d];
            }
            if (!inside) Array.Fill(dst, fill, o, inner);
            else
            {
                for (int j = 0; j < inner; j++)
                {
                    int m = last[j];
                    dst[o + j] = m < 0 ? fill : src[offset + m];
                }
            }
            for (int d = rank - 2; d >= 0; d--)
            {
                if (++index[d] < outShape[d]) break;
                index[d] = 0;
            }
        }
    }

    /// <summary>Maps a possibly negative <paramref name="axis"/> into [0, <paramref name="rank"/>).</summary>
    /// <exception cref="ShapeException">The axis is out of range.</exception>
    public static int Axis(long axis, int rank, string op)
    {
        long a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank) throw new ShapeException($"{op}: axis {axis} is out of range for rank {rank}");
        return (int)a;
    }

    /// <summary>Converts int64 dimensions to int, refusing negative or huge values.</summary>
    public static int Dim(long value, string op, string what)
    {
        if (value < 0 || value > Array.MaxLength) throw new ShapeException($"{op}: {what} {value} is not a valid dimension");
        return (int)value;
    }
}
