using CnnSharp.Autograd;
using CnnSharp.Compile;

namespace CnnSharp.Functional;

public static partial class F
{
    private static void TraceSlice(Tensor y, int dim, int? start, int? end, int step) =>
        Tracer.Describe(y, new SliceSpec(dim, start, end, step, i => Slice(i[0], dim, start, end, step)));

    /// <summary>
    /// Elements <c>start, start + step, ...</c> (below <paramref name="end"/>) along <paramref name="dim"/>, like Python's
    /// <c>x[..., start:end:step]</c> on a PyTorch tensor.
    /// </summary>
    /// <remarks>
    /// Python's rules: negative <paramref name="start"/>/<paramref name="end"/> count from the end of the dimension, and
    /// both are then clamped to [0, size], so out-of-range bounds never throw and may give an empty result (size 0 along
    /// <paramref name="dim"/>). The defaults select the whole dimension. Unlike PyTorch, which returns a view, the result is
    /// a new contiguous tensor (a copy); writes to it do not reach <paramref name="x"/>. The gradient of
    /// <paramref name="x"/> is the output gradient at the selected positions and 0 elsewhere. In a compiled model the op
    /// runs as an eager island (graph break).
    /// </remarks>
    /// <param name="x">Any shape of rank 1 or more.</param>
    /// <param name="dim">The dimension to slice; negative counts from the end.</param>
    /// <param name="start">First index (default 0).</param>
    /// <param name="end">Exclusive end (default the size of <paramref name="dim"/>).</param>
    /// <param name="step">Positive stride between selected indices (PyTorch does not support negative steps either).</param>
    /// <returns>Same shape as <paramref name="x"/> with <paramref name="dim"/> of size <c>max(0, ceil((end - start) / step))</c> after clamping.</returns>
    /// <example><code>var even = F.Slice(x, dim: -1, start: 0, step: 2); // x[..., ::2]</code></example>
    /// <exception cref="ShapeException"><paramref name="dim"/> is out of range, <paramref name="x"/> has rank 0, or <paramref name="step"/> is not positive.</exception>
    public static Tensor Slice(Tensor x, int dim, int? start = null, int? end = null, int step = 1)
    {
        ArgumentNullException.ThrowIfNull(x);
        int d = Dims.Normalize("Slice", dim, x.Rank, $"input {x.Shape}");
        if (step <= 0) throw new ShapeException($"Slice: step must be positive, got {step} (input {x.Shape}, dim {dim})");
        int size = x.Shape[d];
        int s = ClampIndex(start ?? 0, size), e = ClampIndex(end ?? size, size);
        int count = e > s ? (e - s + step - 1) / step : 0;
        var y = SliceOp(x, d, s, count, step, "Slice");
        if (Tracer.Current is not null) TraceSlice(y, dim, start, end, step);
        return y;
    }

    /// <summary>Python's slice bound: negative counts from the end, then clamped to [0, size].</summary>
    private static int ClampIndex(int index, int size)
    {
        long i = index < 0 ? (long)index + size : index;
        return (int)Math.Clamp(i, 0, size);
    }

    private static void TraceNarrow(Tensor y, int dim, int start, int length) =>
        Tracer.Describe(y, new NarrowSpec(dim, start, length, i => Narrow(i[0], dim, start, length)));

    /// <summary>
    /// <paramref name="length"/> consecutive elements from <paramref name="start"/> along <paramref name="dim"/>
    /// (PyTorch's <c>torch.narrow</c>); unlike <see cref="Slice"/>, bounds are checked, not clamped.
    /// </summary>
    /// <remarks>
    /// A negative <paramref name="start"/> counts from the end. The result is a new contiguous tensor (a copy, where
    /// PyTorch returns a view). Gradient as for <see cref="Slice"/>. In a compiled model the op runs as an eager island.
    /// </remarks>
    /// <param name="x">Any shape of rank 1 or more.</param>
    /// <param name="dim">The dimension to narrow; negative counts from the end.</param>
    /// <param name="start">First index, in [-size, size].</param>
    /// <param name="length">Number of elements, with <c>start + length &lt;= size</c>.</param>
    /// <returns>Same shape as <paramref name="x"/> with <paramref name="dim"/> of size <paramref name="length"/>.</returns>
    /// <example><code>var firstHalf = F.Narrow(x, dim: 1, start: 0, length: x.Size(1) / 2);</code></example>
    /// <exception cref="ShapeException"><paramref name="dim"/> is out of range, or start/length do not fit the dimension.</exception>
    public static Tensor Narrow(Tensor x, int dim, int start, int length)
    {
        ArgumentNullException.ThrowIfNull(x);
        int d = Dims.Normalize("Narrow", dim, x.Rank, $"input {x.Shape}");
        int size = x.Shape[d];
        long s = start < 0 ? (long)start + size : start;
        if (s < 0 || s > size || length < 0 || s + length > size)
            throw new ShapeException($"Narrow: start {start} with length {length} does not fit dim {dim} of size {size} (input {x.Shape})");
        var y = SliceOp(x, d, (int)s, length, 1, "Narrow");
        if (Tracer.Current is not null) TraceNarrow(y, dim, start, length);
        return y;
    }

    /// <summary>Copies <paramref name="count"/> indices <c>start + k * step</c> of dimension <paramref name="dim"/> (all checked).</summary>
    private static Tensor SliceOp(Tensor x, int dim, int start, int count, int step, string op)
    {
        var (outer, size, inner) = Split(x.Shape, dim);
        if (count <= 1) step = 1; // the stride of a single index is irrelevant; this keeps step * inner from overflowing
        var dims = x.Shape.ToArray();
        dims[dim] = count;
        var y = Tensor.Uninitialized(new Shape(dims));
        var layout = new StridedLayout([outer, count, inner], [size * inner, step * inner, 1]);
        int offset = y.Numel == 0 ? 0 : start * inner;
        layout.Move(x.Storage.AsSpan(offset), y.Data, StridedMove.Gather);
        y.SetGradFn(new SliceBackward(x, layout, offset, op));
        return y;
    }
}

/// <summary>Adds the output gradient into the selected positions of the input's gradient.</summary>
file sealed class SliceBackward(Tensor x, StridedLayout layout, int offset, string op) : Node(x)
{
    public override string Name => op + "Backward";

    protected internal override void Backward(Tensor gradOutput)
    {
        var gx = GradOf(x);
        if (!gx.IsEmpty) layout.Move(gx[offset..], gradOutput.Data, StridedMove.ScatterAdd);
    }
}
