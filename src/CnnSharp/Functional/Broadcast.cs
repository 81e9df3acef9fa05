using CnnSharp.Kernels;

namespace CnnSharp.Functional;

/// <summary>
/// NumPy/PyTorch broadcasting: shapes aligned at the trailing dimension; sizes must match or be 1. The one broadcaster of
/// the library: F's element-wise ops and the ONNX runtime's operators (which hold shapes as arrays) both use it.
/// </summary>
internal static class Broadcast
{
    /// <exception cref="ShapeException">The shapes cannot be broadcast together.</exception>
    public static Shape ResultShape(Shape a, Shape b, string op) => new(ResultShape(a.Dims, b.Dims, op));

    /// <summary>The broadcast shape of <paramref name="a"/> and <paramref name="b"/> (ONNX's multidirectional broadcasting).</summary>
    /// <exception cref="ShapeException">The shapes cannot be broadcast together.</exception>
    public static int[] ResultShape(ReadOnlySpan<int> a, ReadOnlySpan<int> b, string op)
    {
        int rank = Math.Max(a.Length, b.Length);
        var dims = new int[rank];
        for (int i = 0; i < rank; i++)
        {
            int da = i < rank - a.Length ? 1 : a[i - (rank - a.Length)];
            int db = i < rank - b.Length ? 1 : b[i - (rank - b.Length)];
            if (da != db && da != 1 && db != 1)
                throw new ShapeException($"{op}: shapes {Shape.Format(a)} and {Shape.Format(b)} cannot be broadcast (dimension {i}: {da} vs {db})");
            dims[i] = da == 1 ? db : da;
        }
        return dims;
    }

    /// <summary>Whether <paramref name="shape"/> broadcasts to exactly <paramref name="target"/> (one way, as ONNX's unidirectional broadcasting).</summary>
    public static bool BroadcastsTo(ReadOnlySpan<int> shape, ReadOnlySpan<int> target)
    {
        if (shape.Length > target.Length) return false;
        int offset = target.Length - shape.Length;
        for (int i = 0; i < shape.Length; i++)
            if (shape[i] != 1 && shape[i] != target[offset + i]) return false;
        return true;
    }

    /// <summary>Strides of <paramref name="s"/> viewed in <paramref name="result"/>'s rank, 0 where the dimension is broadcast.</summary>
    public static int[] Strides(Shape s, Shape result) => Strides(s.Dims, result.Dims);

    /// <summary>Strides of <paramref name="s"/> viewed in <paramref name="result"/>'s rank, 0 where the dimension is broadcast.</summary>
    public static int[] Strides(ReadOnlySpan<int> s, ReadOnlySpan<int> result)
    {
        int rank = result.Length, off = rank - s.Length;
        var strides = new int[rank];
        int acc = 1;
        for (int i = s.Length - 1; i >= 0; i--)
        {
            strides[i + off] = s[i] == 1 ? 0 : acc;
            acc *= s[i];
        }
        return strides;
    }

    /// <summary>
    /// Copies <paramref name="source"/> (of shape <paramref name="shape"/>) broadcast to <paramref name="target"/> into
    /// <paramref name="destination"/> (PyTorch's <c>expand</c> materialized; ONNX's Expand and Gemm's C).
    /// </summary>
    /// <exception cref="ShapeException"><paramref name="shape"/> does not broadcast to <paramref name="target"/>.</exception>
    public static void Expand<T>(T[] source, Shape shape, Shape target, Span<T> destination)
    {
        if (!BroadcastsTo(shape.Dims, target.Dims)) throw new ShapeException($"Expand: shape {shape} does not broadcast to {target}");
        var rows = new BroadcastRows(target, shape, target);
        for (int r = 0; r < rows.Count; r++)
        {
            var row = rows.Row(r);
            var run = rows.B(source, row);
            var y = destination.Slice(row.Start, row.Length);
            if (rows.BScalar) y.Fill(run[0]);
            else run.CopyTo(y);
        }
    }
}

/// <summary>
/// A broadcast binary op's output cut into rows of contiguous elements inside which each operand is either contiguous
/// too (a run as long as the row) or one value repeated (<see cref="AScalar"/>, <see cref="BScalar"/>), so kernels run
/// row by row on spans: (N, C, H, W) with a (1, C, 1, 1) bias is N·C rows of H·W with a repeated b; (N, F) with an (F)
/// vector is N rows of F with contiguous runs of both; same shapes, or a scalar operand, are a single row.
/// </summary>
/// <remarks>
/// The rows are the output's trailing dimensions (size-1 dimensions skipped) for as long as both operands keep their
/// kind (contiguous or repeated); the leading dimensions enumerate the rows. A single row of at least
/// 2·<see cref="ElementBlocks.Size"/> elements is re-cut at <see cref="ElementBlocks"/>'s fixed boundaries, so long
/// same-shape or scalar ops split over threads too. The cut depends only on the shapes, never on the thread count.
/// </remarks>
internal sealed class BroadcastRows
{
    private readonly int[] _outerSizes;
    private readonly int[] _outerStridesA, _outerStridesB;
    private readonly int _length;
    private readonly int _total;
    private readonly bool _blocked;

    public BroadcastRows(Shape a, Shape b, Shape result)
    {
        int[] sa = Broadcast.Strides(a, result), sb = Broadcast.Strides(b, result);
        var kept = new List<int>();
        for (int d = 0; d < result.Rank; d++) if (result[d] > 1) kept.Add(d);
        int length = 1, inner = kept.Count;
        while (inner > 0)
        {
            int d = kept[inner - 1];
            // Innermost kept dimension: an operand's stride there is 1 (it has the dimension) or 0 (broadcast).
            bool aRepeats = sa[d] == 0, bRepeats = sb[d] == 0;
            if (inner == kept.Count)
            {
                AScalar = aRepeats;
                BScalar = bRepeats;
            }
            else if (!(AScalar ? aRepeats : sa[d] == length) || !(BScalar ? bRepeats : sb[d] == length))
            {
                break;
            }
            length *= result[d];
            inner--;
        }
        _outerSizes = new int[inner];
        _outerStridesA = new int[inner];
        _outerStridesB = new int[inner];
        for (int i = 0; i < inner; i++)
        {
            _outerSizes[i] = result[kept[i]];
            _outerStridesA[i] = sa[kept[i]];
            _outerStridesB[i] = sb[kept[i]];
        }
        _total = result.Numel;
        AFull = a.Numel == _total;
        BFull = b.Numel == _total;
        _length = length;
        _blocked = inner == 0 && length >= 2 * ElementBlocks.Size;
        Count = _total == 0 ? 0 : _blocked ? ElementBlocks.Count(length) : _total / length;
        MaxLength = _blocked ? 2 * ElementBlocks.Size : length;
        MinRowsPerChunk = Math.Max(1, ElementBlocks.Size / length);
    }

    /// <summary>Number of rows.</summary>
    public int Count { get; }

    /// <summary>An upper bound on a row's length (for scratch buffers).</summary>
    public int MaxLength { get; }

    /// <summary>Rows per thread chunk such that a chunk holds about <see cref="ElementBlocks.Size"/> elements or more.</summary>
    public int MinRowsPerChunk { get; }

    /// <summary>Operand a is one value repeated along each row.</summary>
    public bool AScalar { get; }

    /// <summary>Operand b is one value repeated along each row.</summary>
    public bool BScalar { get; }

    /// <summary>Operand a has the output's element count (it is not broadcast, so rows map to disjoint runs of it).</summary>
    public bool AFull { get; }

    /// <summary>Operand b has the output's element count.</summary>
    public bool BFull { get; }

    /// <summary>Row <paramref name="row"/>: its output range and where each operand's run (or repeated value) starts.</summary>
    public (int Start, int Length, int OffsetA, int OffsetB) Row(int row)
    {
        if (_blocked)
        {
            var (start, end) = ElementBlocks.Bounds(row, Count, _length);
            return (start, end - start, AScalar ? 0 : start, BScalar ? 0 : start);
        }
        int rest = row, offA = 0, offB = 0;
        for (int d = _outerSizes.Length - 1; d >= 0; d--)
        {
            int i = rest % _outerSizes[d];
            rest /= _outerSizes[d];
            offA += i * _outerStridesA[d];
            offB += i * _outerStridesB[d];
        }
        return (row * _length, _length, offA, offB);
    }

    /// <summary>Operand a's span in a row (its run, or its one value).</summary>
    public ReadOnlySpan<T> A<T>(T[] a, (int Start, int Length, int OffsetA, int OffsetB) row) => a.AsSpan(row.OffsetA, AScalar ? 1 : row.Length);

    /// <summary>Operand b's span in a row (its run, or its one value).</summary>
    public ReadOnlySpan<T> B<T>(T[] b, (int Start, int Length, int OffsetA, int OffsetB) row) => b.AsSpan(row.OffsetB, BScalar ? 1 : row.Length);
}
