using System.Numerics.Tensors;

namespace CnnSharp.Functional;

/// <summary>How <see cref="StridedLayout.Move"/> moves elements between the strided side and the dense side.</summary>
internal enum StridedMove
{
    /// <summary><c>dense[j] = strided[offset(j)]</c>.</summary>
    Gather,

    /// <summary><c>dense[j] += strided[offset(j)]</c>.</summary>
    GatherAdd,

    /// <summary><c>strided[offset(j)] = dense[j]</c>.</summary>
    Scatter,

    /// <summary><c>strided[offset(j)] += dense[j]</c>.</summary>
    ScatterAdd,
}

/// <summary>
/// A strided view of a contiguous buffer: element j of a dense row-major array of <c>sizes</c> lives at
/// <c>sum_d index_d(j) * strides[d]</c> of the strided buffer. Cat, Stack, Slice, Transpose and Permute (and their
/// backwards) are all one such move, so they share <see cref="Move"/>.
/// </summary>
/// <remarks>
/// The constructor drops size-1 dimensions and merges neighbours that are contiguous with each other
/// (<c>strides[d] == sizes[d+1] * strides[d+1]</c>), so the innermost dimension is as long as possible: when its stride is
/// 1 every run moves as one block (<c>Span.CopyTo</c> or a vectorised add), and only layouts whose innermost dimension is
/// strided in the source (a transpose of the last dimension) fall back to a per-element loop with a constant stride.
/// </remarks>
internal sealed class StridedLayout
{
    private readonly int[] _sizes;
    private readonly int[] _strides;

    /// <param name="sizes">Sizes of the dense side, outermost first (all non-negative).</param>
    /// <param name="strides">Stride in the strided buffer of each dense dimension.</param>
    public StridedLayout(ReadOnlySpan<int> sizes, ReadOnlySpan<int> strides)
    {
        var s = new List<int>();
        var t = new List<int>();
        long numel = 1;
        for (int d = 0; d < sizes.Length; d++)
        {
            numel *= sizes[d];
            if (sizes[d] == 1) continue;
            if (s.Count > 0 && t[^1] == sizes[d] * strides[d])
            {
                s[^1] *= sizes[d];
                t[^1] = strides[d];
            }
            else
            {
                s.Add(sizes[d]);
                t.Add(strides[d]);
            }
        }
        if (s.Count == 0)
        {
            s.Add(1);
            t.Add(1);
        }
        _sizes = [.. s];
        _strides = [.. t];
        Numel = (int)numel;
    }

    /// <summary>Number of elements moved.</summary>
    public int Numel { get; }

    /// <summary>Moves every element between <paramref name="strided"/> (indexed through the layout) and <paramref name="dense"/>.</summary>
    public void Move(Span<float> strided, Span<float> dense, StridedMove mode)
    {
        if (Numel == 0) return;
        int r = _sizes.Length;
        int run = _sizes[r - 1], runStride = _strides[r - 1];
        Span<int> index = stackalloc int[r];
        int offset = 0;
        for (int j = 0; j < Numel; j += run)
        {
            var d = dense.Slice(j, run);
            if (runStride == 1) MoveRun(strided.Slice(offset, run), d, mode);
            else MoveStrided(strided[offset..], runStride, d, mode);
            for (int k = r - 2; k >= 0; k--)
            {
                offset += _strides[k];
                if (++index[k] < _sizes[k]) break;
                offset -= _strides[k] * _sizes[k];
                index[k] = 0;
            }
        }
    }

    private static void MoveRun(Span<float> s, Span<float> d, StridedMove mode)
    {
        switch (mode)
        {
            case StridedMove.Gather: s.CopyTo(d); break;
            case StridedMove.GatherAdd: TensorPrimitives.Add(d, s, d); break;
            case StridedMove.Scatter: d.CopyTo(s); break;
            default: TensorPrimitives.Add(s, d, s); break;
        }
    }

    private static void MoveStrided(Span<float> s, int stride, Span<float> d, StridedMove mode)
    {
        switch (mode)
        {
            case StridedMove.Gather: for (int i = 0; i < d.Length; i++) d[i] = s[i * stride]; break;
            case StridedMove.GatherAdd: for (int i = 0; i < d.Length; i++) d[i] += s[i * stride]; break;
            case StridedMove.Scatter: for (int i = 0; i < d.Length; i++) s[i * stride] = d[i]; break;
            default: for (int i = 0; i < d.Length; i++) s[i * stride] += d[i]; break;
        }
    }
}
