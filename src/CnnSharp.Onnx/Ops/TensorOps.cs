using CnnSharp.Onnx.Runtime;

namespace CnnSharp.Onnx.Ops;

/// <summary>Concat: the inputs joined along <c>axis</c> (negative counts from the end); all other dimensions must agree.</summary>
internal sealed class ConcatOp : OnnxOp
{
    private readonly long _axis;

    public ConcatOp(OpBuilder b)
    {
        b.Inputs(1, int.MaxValue);
        b.Outputs(1);
        // Opsets 1-3 defaulted the axis to 1; later it is required.
        _axis = b.Opset < 4 ? b.Int("axis", 1) : b.RequiredInt("axis");
    }

    /// <summary>The <c>axis</c> attribute (negative counts from the end).</summary>
    internal long Axis => _axis;

    public override void Execute(OpContext ctx, ReadOnlySpan<OnnxValue?> inputs, Span<OnnxValue?> outputs)
    {
        var first = inputs[0]!;
        int rank = first.Rank;
        int axis = Layout.Axis(_axis, rank, "Concat");
        var shape = (int[])first.Shape.Clone();
        shape[axis] = 0;
        for (int i = 0; i < inputs.Length; i++)
        {
            var x = inputs[i] ?? throw new ShapeException($"Concat: input #{i} is empty");
            bool compatible = x.Rank == rank && x.IsFloat == first.IsFloat;
            for (int d = 0; compatible && d < rank; d++) compatible = d == axis || x.Shape[d] == first.Shape[d];
            if (!compatible)
                throw new ShapeException($"Concat: input #{i} {x} does not match input #0 {first} outside axis {axis}");
            shape[axis] += x.Shape[axis];
        }
        var y = ctx.Like(first, shape);
        int outer = Layout.Product(shape, 0, axis), inner = Layout.Product(shape, axis + 1, rank);
        int outBlock = shape[axis] * inner;
        int offset = 0;
        foreach (var x in inputs)
        {
            int block = x!.Shape[axis] * inner;
            for (int o = 0; o < outer; o++) Array.Copy(x.Storage, o * block, y.Storage, o * outBlock + offset, block);
            offset += block;
        }
        outputs[0] = y;
    }
}

/// <summary>
/// Split: the input cut along <c>axis</c> (default 0) into one piece per output, of the sizes in <c>split</c> (an
/// attribute before opset 13, input 1 from opset 13) or equal sizes when absent.
/// </summary>
internal sealed class SplitOp : OnnxOp
{
    private readonly long _axis;
    private readonly long[]? _attributeSplit;
    private readonly bool _splitFromInput;
    private readonly int _outputCount;

    public SplitOp(OpBuilder b)
    {
        _outputCount = b.Node.Outputs.Count;
        b.Outputs(int.MaxValue);
        _axis = b.Int("axis", 0);
        if (b.Opset < 13 && b.Opset >= 2)
        {
            b.Inputs(1, 1);
            _attributeSplit = b.Ints("split");
        }
        else
        {
            b.Inputs(1, 2);
            _splitFromInput = true;
        }
    }

    public override IReadOnlyList<int> ShapeInputs => [1];

    public override void Execute(OpContext ctx, ReadOnlySpan<OnnxValue?> inputs, Span<OnnxValue?> outputs)
    {
        var x = inputs[0]!;
        int axis = Layout.Axis(_axis, x.Rank, "Split");
        int dim = x.Shape[axis];
        long[]? split = _splitFromInput ? (inputs.Length > 1 ? inputs[1]?.ToLongs("Split split") : null) : _attributeSplit;
        int[] sizes;
        if (split is null)
        {
            if (dim % _outputCount != 0)
                throw new ShapeException($"Split: dimension {axis} of {Shape.Format(x.Shape)} ({dim}) does not divide into {_outputCount} equal parts");
            sizes = Enumerable.Repeat(dim / _outputCount, _outputCount).ToArray();
        }
        else
        {
            if (split.Length != _outputCount || split.Any(s => s < 0 || s > dim) || split.Sum() != dim)
                throw new ShapeException($"Split: sizes [{string.Join(", ", split)}] do not cut dimension {axis} of {Shape.Format(x.Shape)} into {_outputCount} parts");
            sizes = split.Select(s => (int)s).ToArray();
        }
        int outer = Layout.Product(x.Shape, 0, axis), inner = Layout.Product(x.Shape, axis + 1, x.Rank);
        int inBlock = dim * inner;
        int offset = 0;
        for (int j = 0; j < _outputCount; j++)
        {
            int block = sizes[j] * inner;
            if (ctx.IsRequested(j))
            {
                var shape = (int[])x.Shape.Clone();
                shape[axis] = sizes[j];
                var y = ctx.Like(x, shape);
                for (int o = 0; o < outer; o++) Array.Copy(x.Storage, o * inBlock + offset, y.Storage, o * block, block);
                outputs[j] = y;
            }
            offset += block;
        }
    }
}

/// <summary>
/// Slice: <c>y = x[starts:ends:steps]</c> on the listed axes (all leading axes by default; steps default 1, may be
/// negative). Attributes before opset 10, inputs from opset 10. Starts and ends are clamped as NumPy does.
/// </summary>
internal sealed class SliceOp : OnnxOp
{
    private readonly long[]? _starts, _ends, _axes;
    private readonly bool _fromInputs;

    public SliceOp(OpBuilder b)
    {
        b.Outputs(1);
        if (b.Opset < 10)
        {
            b.Inputs(1, 1);
            _starts = b.Ints("starts") ?? throw b.Invalid("required attribute 'starts' is missing");
            _ends = b.Ints("ends") ?? throw b.Invalid("required attribute 'ends' is missing");
            _axes = b.Ints("axes");
        }
        else
        {
            b.Inputs(3, 5);
            _fromInputs = true;
        }
    }

    public override IReadOnlyList<int> ShapeInputs => [1, 2, 3, 4];

    public override void Execute(OpContext ctx, ReadOnlySpan<OnnxValue?> inputs, Span<OnnxValue?> outputs)
    {
        var x = inputs[0]!;
        var (outShape, outStrides, offset) = Window(x.Shape, inputs);
        var y = ctx.Like(x, outShape);
        if (x.IsFloat) Layout.StridedCopy(x.Floats, offset, outShape, outStrides, y.Floats);
        else Layout.StridedCopy(x.Longs, offset, outShape, outStrides, y.Longs);
        outputs[0] = y;
    }

    /// <summary>
    /// The sliced window of an input of shape <paramref name="xShape"/> as a strided view of its flat storage: the output
    /// shape, each output dimension's source stride (negative for a negative step) and the first element's offset.
    /// <paramref name="inputs"/> are the node's operands (inputs 1 to 4 are read; input 0 is not).
    /// </summary>
    internal (int[] Shape, long[] Strides, long Offset) Window(int[] xShape, ReadOnlySpan<OnnxValue?> inputs)
    {
        long[] starts = _fromInputs ? inputs[1]!.ToLongs("Slice starts") : _starts!;
        long[] ends = _fromInputs ? inputs[2]!.ToLongs("Slice ends") : _ends!;
        long[]? axes = _fromInputs ? (inputs.Length > 3 ? inputs[3]?.ToLongs("Slice axes") : null) : _axes;
        long[]? steps = _fromInputs && inputs.Length > 4 ? inputs[4]?.ToLongs("Slice steps") : null;
        axes ??= Enumerable.Range(0, starts.Length).Select(i => (long)i).ToArray();
        steps ??= Enumerable.Repeat(1L, starts.Length).ToArray();
        if (ends.Length != starts.Length || axes.Length != starts.Length || steps.Length != starts.Length)
            throw new ShapeException($"Slice: starts ({starts.Length}), ends ({ends.Length}), axes ({axes.Length}) and steps ({steps.Length}) differ in length");

        int rank = xShape.Length;
        var strides = Layout.Strides(xShape);
        var outShape = (int[])xShape.Clone();
        var outStrides = (long[])strides.Clone();
        var seen = new bool[rank];
        long offset = 0;
        for (int i = 0; i < starts.Length; i++)
        {
            int axis = Layout.Axis(axes[i], rank, "Slice");
            if (seen[axis]) throw new ShapeException($"Slice: axis {axes[i]} is repeated");
            seen[axis] = true;
            long step = steps[i];
            if (step == 0) throw new ShapeException("Slice: a step is 0");
            long dim = xShape[axis];
            long start = starts[i] < 0 ? starts[i] + dim : starts[i];
            long end = ends[i] < 0 ? ends[i] + dim : ends[i];
            long count;
            if (step > 0)
            {
                start = Math.Clamp(start, 0, dim);
                end = Math.Clamp(end, 0, dim);
                count = end > start ? (end - start + step - 1) / step : 0;
            }
            else
            {
                start = Math.Clamp(start, 0, dim - 1);
                end = Math.Clamp(end, -1, dim - 1);
                count = start > end ? (start - end + (-step) - 1) / -step : 0;
            }
            outShape[axis] = (int)count;
            outStrides[axis] = strides[axis] * step;
            if (count > 0) offset += start * strides[axis];
        }
        return (outShape, outStrides, offset);
    }
}

/// <summary>
/// Gather: <c>y[i_0..i_axis-1, j…, i_axis+1..] = x[i_0..i_axis-1, indices[j…], i_axis+1..]</c> (negative indices count
/// from the end of the axis).
/// </summary>
internal sealed class GatherOp : OnnxOp
{
    private readonly long _axis;

    public GatherOp(OpBuilder b)
    {
        b.Inputs(2, 2);
        b.Outputs(1);
        _axis = b.Int("axis", 0);
    }

    public override void Execute(OpContext ctx, ReadOnlySpan<OnnxValue?> inputs, Span<OnnxValue?> outputs)
    {
        var x = inputs[0]!;
        var indicesValue = inputs[1]!;
        if (indicesValue.IsFloat) throw new ShapeException("Gather: indices must be an integer tensor");
        long[] indices = indicesValue.Longs;
        if (x.Rank == 0) throw new ShapeException("Gather: the data tensor is a scalar");
        int axis = Layout.Axis(_axis, x.Rank, "Gather");
        int dim = x.Shape[axis];
        int[] shape = [.. x.Shape[..axis], .. indicesValue.Shape, .. x.Shape[(axis + 1)..]];
        var y = ctx.Like(x, shape);
        int outer = Layout.Product(x.Shape, 0, axis), inner = Layout.Product(x.Shape, axis + 1, x.Rank);
        int n = indices.Length;
        for (int k = 0; k < n; k++)
        {
            long index = indices[k] < 0 ? indices[k] + dim : indices[k];
            if (index < 0 || index >= dim)
                throw new ShapeException($"Gather: index {indices[k]} is out of range for dimension {axis} of size {dim}");
            for (int o = 0; o < outer; o++)
                Array.Copy(x.Storage, ((long)o * dim + index) * inner, y.Storage, ((long)o * n + k) * inner, inner);
        }
        outputs[0] = y;
    }
}

/// <summary>
/// Pad: <c>pads = [x1_begin, x2_begin, …, x1_end, x2_end, …]</c> elements added (negative: removed) at each end of each
/// dimension, filled per <c>mode</c>: <c>constant</c> (the value), <c>reflect</c> (mirror without repeating the edge),
/// <c>edge</c> (repeat the edge). Pads and value are attributes before opset 11 and inputs from opset 11.
/// </summary>
internal sealed class PadOp : OnnxOp
{
    private readonly string _mode;
    private readonly long[]? _attributePads;
    private readonly float _attributeValue;
    private readonly bool _fromInputs;

    public PadOp(OpBuilder b)
    {
        b.Outputs(1);
        _mode = b.Choice("mode", "constant", "constant", "reflect", "edge");
        if (b.Opset < 11)
        {
            b.Inputs(1, 1);
            _attributePads = b.Ints(b.Opset < 2 ? "paddings" : "pads") ?? throw b.Invalid($"required attribute '{(b.Opset < 2 ? "paddings" : "pads")}' is missing");
            _attributeValue = b.Float("value", 0f);
        }
        else
        {
            b.Inputs(2, 3);
            _fromInputs = true;
        }
    }

    public override IReadOnlyList<int> ShapeInputs => [1];

    /// <summary>
    /// The pads of a constant-mode Pad with value 0 and the given (plan-time) pads and value inputs, else null: the
    /// compiled plan folds such a Pad into the Conv that reads it.
    /// </summary>
    internal long[]? ZeroPads(OnnxValue? pads, OnnxValue? value)
    {
        if (_mode != "constant") return null;
        if (!_fromInputs) return _attributeValue == 0 ? _attributePads : null;
        if (pads is null || (value is not null && value.ScalarAsDouble("Pad constant_value") != 0)) return null;
        return pads.ToLongs("Pad pads");
    }

    public override void Execute(OpContext ctx, ReadOnlySpan<OnnxValue?> inputs, Span<OnnxValue?> outputs)
    {
        var x = inputs[0]!;
        long[] pads = _fromInputs ? inputs[1]!.ToLongs("Pad pads") : _attributePads!;
        int rank = x.Rank;
        if (pads.Length != 2 * rank)
            throw new ShapeException($"Pad: {pads.Length} pads for input {Shape.Format(x.Shape)}; expected {2 * rank} (begin and end per dimension)");
        double value = _fromInputs && inputs.Length > 2 && inputs[2] is { } v ? v.ScalarAsDouble("Pad constant_value") : _attributeValue;
        var outShape = new int[rank];
        for (int d = 0; d < rank; d++)
        {
            int size = x.Shape[d];
            long begin = pads[d], end = pads[d + rank];
            if (Math.Abs(begin) > Array.MaxLength || Math.Abs(end) > Array.MaxLength)
                throw new ShapeException($"Pad: pads [{string.Join(", ", pads)}] are out of range");
            long outSize = size + begin + end;
            if (outSize < 0) throw new ShapeException($"Pad: pads [{string.Join(", ", pads)}] remove more than dimension {d} of {Shape.Format(x.Shape)} holds");
            if (_mode != "constant" && size == 0 && outSize > 0)
                throw new ShapeException($"Pad: {_mode} mode cannot pad the empty dimension {d} of {Shape.Format(x.Shape)}");
            outShape[d] = Layout.Dim(outSize, "Pad", "output size");
        }
        // The output first: its size check bounds the index maps too (each is one output dimension long).
        var y = ctx.Like(x, outShape);
        outputs[0] = y;
        // An empty output has nothing to copy, and a map for its other dimensions would be sized by the file alone.
        if (y.Count == 0) return;
        var maps = new int[rank][];
        for (int d = 0; d < rank; d++)
        {
            var map = new int[outShape[d]];
            for (int i = 0; i < map.Length; i++) map[i] = Source(i - pads[d], x.Shape[d]);
            maps[d] = map;
        }
        if (x.IsFloat) Layout.MapCopy(x.Floats, x.Shape, maps, y.Floats, (float)value);
        else Layout.MapCopy(x.Longs, x.Shape, maps, y.Longs, (long)value);
        outputs[0] = y;
    }

    /// <summary>The input coordinate an output coordinate reads (-1: the constant).</summary>
    private int Source(long i, int size)
    {
        if (i >= 0 && i < size) return (int)i;
        switch (_mode)
        {
            case "edge":
                return i < 0 ? 0 : size - 1;
            case "reflect":
                if (size == 1) return 0;
                long period = 2L * (size - 1);
                long r = ((i % period) + period) % period;
                return (int)(r < size ? r : period - r);
            default:
                return -1;
        }
    }
}

/// <summary>Tile: the input repeated <c>repeats[d]</c> times along each dimension d: <c>y[i] = x[i mod shape(x)]</c>.</summary>
internal sealed class TileOp : OnnxOp
{
    public TileOp(OpBuilder b)
    {
        b.Inputs(2, 2);
        b.Outputs(1);
    }

    public override IReadOnlyList<int> ShapeInputs => [1];

    public override void Execute(OpContext ctx, ReadOnlySpan<OnnxValue?> inputs, Span<OnnxValue?> outputs)
    {
        var x = inputs[0]!;
        long[] repeats = inputs[1]!.ToLongs("Tile repeats");
        if (repeats.Length != x.Rank)
            throw new ShapeException($"Tile: {repeats.Length} repeats for input {Shape.Format(x.Shape)}");
        var outShape = new int[x.Rank];
        for (int d = 0; d < x.Rank; d++)
        {
            if (repeats[d] < 0 || repeats[d] > Array.MaxLength) throw new ShapeException($"Tile: repeat {repeats[d]} is out of range");
            outShape[d] = Layout.Dim(x.Shape[d] * repeats[d], "Tile", "output size");
        }
        // The output first: its size check bounds the index maps too (each is one output dimension long).
        var y = ctx.Like(x, outShape);
        outputs[0] = y;
        // An empty output has nothing to copy, and a map for its other dimensions would be sized by the file alone.
        if (y.Count == 0) return;
        var maps = new int[x.Rank][];
        for (int d = 0; d < x.Rank; d++)
        {
            int size = x.Shape[d];
            var map = new int[outShape[d]];
            for (int i = 0; i < map.Length; i++) map[i] = i % size;
            maps[d] = map;
        }
        if (x.IsFloat) Layout.MapCopy(x.Floats, x.Shape, maps, y.Floats, 0f);
        else Layout.MapCopy(x.Longs, x.Shape, maps, y.Longs, 0L);
        outputs[0] = y;
    }
}
