namespace CnnSharp.IO.Torch;

/// <summary>Copies a validated strided view of a storage into contiguous row-major bytes (what a state-dict entry holds).</summary>
internal static class StridedCopy
{
    /// <summary>
    /// The elements of <paramref name="tensor"/>, row-major, as little-endian bytes. The view was checked against the
    /// storage when it was built (<see cref="PickleMachine"/>), so every index here lies inside <paramref name="storage"/>.
    /// </summary>
    public static byte[] Contiguous(TorchTensor tensor, byte[] storage)
    {
        int elementSize = tensor.Storage.DType.ElementSize();
        long numel = 1;
        foreach (int d in tensor.Size) numel *= d;
        var output = new byte[numel * elementSize];
        if (numel == 0) return output;
        if (IsContiguous(tensor))
        {
            storage.AsSpan(checked((int)(tensor.Offset * elementSize)), output.Length).CopyTo(output);
            return output;
        }

        // Odometer over the index, innermost dimension fastest; position tracks offset + sum(index * stride).
        int rank = tensor.Size.Length;
        var index = new int[rank];
        long position = tensor.Offset;
        for (long i = 0; i < numel; i++)
        {
            storage.AsSpan((int)(position * elementSize), elementSize).CopyTo(output.AsSpan((int)(i * elementSize)));
            for (int d = rank - 1; d >= 0; d--)
            {
                if (++index[d] < tensor.Size[d])
                {
                    position += tensor.Stride[d];
                    break;
                }
                position -= (long)(index[d] - 1) * tensor.Stride[d];
                index[d] = 0;
            }
        }
        return output;
    }

    /// <summary>Row-major contiguity; dimensions of size 1 may carry any stride (PyTorch does not normalise them).</summary>
    private static bool IsContiguous(TorchTensor tensor)
    {
        long expected = 1;
        for (int d = tensor.Size.Length - 1; d >= 0; d--)
        {
            if (tensor.Size[d] != 1 && tensor.Stride[d] != expected) return false;
            expected *= tensor.Size[d];
        }
        return true;
    }
}
