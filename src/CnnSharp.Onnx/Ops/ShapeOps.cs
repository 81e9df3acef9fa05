using CnnSharp.Functional;
using CnnSharp.Onnx.Runtime;

namespace CnnSharp.Onnx.Ops;

/// <summary>
/// Reshape: the same elements under a new shape. The target comes from input 1 (opset 5 on) or the <c>shape</c>
/// attribute (before opset 5). A 0 copies the input's dimension at that position (unless <c>allowzero=1</c>, opset 14,
/// where 0 is a real zero-size dimension) and one -1 is inferred from the element count.
/// </summary>
internal sealed class ReshapeOp : OnnxOp
{
    private readonly long[]? _attributeShape;
    private readonly bool _allowZero;

    public ReshapeOp(OpBuilder b)
    {
        b.Outputs(1);
        if (b.Opset < 5)
        {
            b.Inputs(1, 1);
            _attributeShape = b.Ints("shape") ?? throw b.Invalid("required attribute 'shape' is missing");
            b.Ignore("consumed_inputs");
        }
        else
        {
            b.Inputs(2, 2);
            if (b.Opset >= 14) _allowZero = b.Flag("allowzero", false);
        }
    }

    public override IReadOnlyList<int> ShapeInputs => [1];

    public override void Execute(OpContext ctx, ReadOnlySpan<OnnxValue?> inputs, Span<OnnxValue?> outputs)
    {
        var x = inputs[0]!;
        long[] target = _attributeShape ?? inputs[1]!.ToLongs("Reshape shape");
        outputs[0] = ctx.Copy(x, Resolve(x.Shape, target, _allowZero));
    }

    /// <summary>Applies ONNX's 0 / -1 rules to <paramref name="target"/> for an input of <paramref name="input"/>'s shape.</summary>
    public static int[] Resolve(int[] input, long[] target, bool allowZero)
    {
        string Describe() => $"input {Shape.Format(input)}, shape [{string.Join(", ", target)}]";
        var dims = new int[target.Length];
        int inferred = -1;
        long known = 1;
        for (int i = 0; i < target.Length; i++)
        {
            long t = target[i];
            if (t == -1)
            {
                if (inferred >= 0) throw new ShapeException($"Reshape: more than one -1 ({Describe()})");
                inferred = i;
                continue;
            }
            if (t == 0 && !allowZero)
            {
                if (i >= input.Length) throw new ShapeException($"Reshape: 0 at position {i} copies a dimension the input does not have ({Describe()})");
                t = input[i];
            }
            if (t < 0) throw new ShapeException($"Reshape: invalid dimension {t} ({Describe()})");
            dims[i] = Layout.Dim(t, "Reshape", "dimension");
            // Saturate: a product beyond any array's size can only fail the element-count check below.
            known = dims[i] == 0 ? 0 : known > Array.MaxLength ? known : known * dims[i];
        }
        long numel = OnnxValue.Numel(input);
        if (inferred >= 0)
        {
            if (known == 0 || numel % known != 0)
                throw new ShapeException($"Reshape: cannot infer the -1 dimension: {numel} elements do not divide into {known} ({Describe()})");
            dims[inferred] = (int)(numel / known);
        }
        else if (known != numel)
        {
            throw new ShapeException($"Reshape: {numel} elements cannot take shape {Shape.Format(dims)} ({Describe()})");
        }
        return dims;
    }
}

/// <summary>Flatten: <c>(d0..dk-1, dk..dn-1) → (d0·…·dk-1, dk·…·dn-1)</c> at <c>axis</c> k (default 1; negative counts from the end).</summary>
internal sealed class FlattenOp : OnnxOp
{
    private readonly long _axis;

    public FlattenOp(OpBuilder b)
    {
        b.Inputs(1, 1);
        b.Outputs(1);
        _axis = b.Int("axis", 1);
    }

    public override void Execute(OpContext ctx, ReadOnlySpan<OnnxValue?> inputs, Span<OnnxValue?> outputs)
    {
        var x = inputs[0]!;
        long axis = _axis < 0 ? _axis + x.Rank : _axis;
        if (axis < 0 || axis > x.Rank) throw new ShapeException($"Flatten: axis {_axis} is out of range for input {Shape.Format(x.Shape)}");
        int k = (int)axis;
        outputs[0] = ctx.Copy(x, [Layout.Product(x.Shape, 0, k), Layout.Product(x.Shape, k, x.Rank)]);
    }
}

/// <summary>
/// Squeeze removes size-1 dimensions: those listed in <c>axes</c> (an attribute before opset 13, input 1 from opset 13),
/// or every size-1 dimension when none are given. Unsqueeze inserts size-1 dimensions at <c>axes</c> (positions in the
/// output; negative counts from the output's end).
/// </summary>
internal sealed class SqueezeOp : OnnxOp
{
    private readonly bool _unsqueeze;
    private readonly long[]? _attributeAxes;
    private readonly bool _axesFromInput;

    public SqueezeOp(OpBuilder b, bool unsqueeze)
    {
        _unsqueeze = unsqueeze;
        b.Outputs(1);
        if (b.Opset < 13)
        {
            b.Inputs(1, 1);
            _attributeAxes = b.Ints("axes");
            if (unsqueeze && _attributeAxes is null) throw b.Invalid("required attribute 'axes' is missing");
        }
        else
        {
            b.Inputs(unsqueeze ? 2 : 1, 2);
            _axesFromInput = true;
        }
    }

    public override IReadOnlyList<int> ShapeInputs => [1];

    public override void Execute(OpContext ctx, ReadOnlySpan<OnnxValue?> inputs, Span<OnnxValue?> outputs)
    {
        var x = inputs[0]!;
        long[]? axes = _axesFromInput ? (inputs.Length > 1 ? inputs[1]?.ToLongs("axes") : null) : _attributeAxes;
        outputs[0] = ctx.Copy(x, _unsqueeze ? Unsqueezed(x.Shape, axes!) : Squeezed(x.Shape, axes));
    }

    private static int[] Squeezed(int[] shape, long[]? axes)
    {
        // No axes, or an empty list (as ONNX Runtime reads it): remove every size-1 dimension.
        if (axes is null || axes.Length == 0) return shape.Where(d => d != 1).ToArray();
        var drop = new bool[shape.Length];
        foreach (long a in axes)
        {
            int axis = Layout.Axis(a, shape.Length, "Squeeze");
            if (shape[axis] != 1)
                throw new ShapeException($"Squeeze: dimension {axis} of {Shape.Format(shape)} has size {shape[axis]}, not 1");
            drop[axis] = true;
        }
        return shape.Where((_, i) => !drop[i]).ToArray();
    }

    private static int[] Unsqueezed(int[] shape, long[] axes)
    {
        int rank = shape.Length + axes.Length;
        var insert = new bool[rank];
        foreach (long a in axes)
        {
            int axis = Layout.Axis(a, rank, "Unsqueeze");
            if (insert[axis]) throw new ShapeException($"Unsqueeze: axis {a} is repeated in [{string.Join(", ", axes)}]");
            insert[axis] = true;
        }
        var result = new int[rank];
        int src = 0;
        for (int i = 0; i < rank; i++) result[i] = insert[i] ? 1 : shape[src++];
        return result;
    }
}

/// <summary>Transpose: <c>y[i_perm[0], …] = x[i_0, …]</c>, i.e. output dimension j is input dimension <c>perm[j]</c> (default: reversed).</summary>
internal sealed class TransposeOp : OnnxOp
{
    private readonly int[]? _perm;

    public TransposeOp(OpBuilder b)
    {
        b.Inputs(1, 1);
        b.Outputs(1);
        _perm = b.Int32s("perm");
        if (_perm is not null && (_perm.Order().Where((p, i) => p != i).Any()))
            throw b.Invalid($"attribute 'perm' [{string.Join(", ", _perm)}] is not a permutation of 0..{_perm.Length - 1}");
    }

    /// <summary>The <c>perm</c> attribute; null reverses the dimensions.</summary>
    internal int[]? Perm => _perm;

    public override void Execute(OpContext ctx, ReadOnlySpan<OnnxValue?> inputs, Span<OnnxValue?> outputs)
    {
        var x = inputs[0]!;
        int rank = x.Rank;
        int[] perm = _perm ?? Enumerable.Range(0, rank).Reverse().ToArray();
        if (perm.Length != rank) throw new ShapeException($"Transpose: perm [{string.Join(", ", perm)}] does not match input {Shape.Format(x.Shape)}");
        var inStrides = Layout.Strides(x.Shape);
        var outShape = new int[rank];
        var strides = new long[rank];
        for (int j = 0; j < rank; j++)
        {
            outShape[j] = x.Shape[perm[j]];
            strides[j] = inStrides[perm[j]];
        }
        var y = ctx.Like(x, outShape);
        if (x.IsFloat) Layout.StridedCopy(x.Floats, 0, outShape, strides, y.Floats);
        else Layout.StridedCopy(x.Longs, 0, outShape, strides, y.Longs);
        outputs[0] = y;
    }
}

/// <summary>Shape: the input's dimensions as a 1-D INT64 tensor, from opset 15 restricted to <c>[start, end)</c> (clamped, negative from the end).</summary>
internal sealed class ShapeOp : OnnxOp
{
    private readonly long _start;
    private readonly long? _end;

    public ShapeOp(OpBuilder b)
    {
        b.Inputs(1, 1);
        b.Outputs(1);
        if (b.Opset >= 15)
        {
            _start = b.Int("start", 0);
            if (b.Has("end")) _end = b.Int("end", 0);
        }
    }

    public override bool DependsOnlyOnShapes => true;

    public override void Execute(OpContext ctx, ReadOnlySpan<OnnxValue?> inputs, Span<OnnxValue?> outputs)
    {
        int[] shape = inputs[0]!.Shape;
        int rank = shape.Length;
        long Clamp(long v) => Math.Clamp(v < 0 ? v + rank : v, 0, rank);
        int start = (int)Clamp(_start), end = (int)Clamp(_end ?? rank);
        int count = Math.Max(0, end - start);
        var y = ctx.Longs([count]);
        for (int i = 0; i < count; i++) y.Longs[i] = shape[start + i];
        outputs[0] = y;
    }
}

/// <summary>Size: the input's element count as an INT64 scalar.</summary>
internal sealed class SizeOp : OnnxOp
{
    public SizeOp(OpBuilder b)
    {
        b.Inputs(1, 1);
        b.Outputs(1);
    }

    public override bool DependsOnlyOnShapes => true;

    public override void Execute(OpContext ctx, ReadOnlySpan<OnnxValue?> inputs, Span<OnnxValue?> outputs)
    {
        var y = ctx.Longs([]);
        y.Longs[0] = inputs[0]!.Count;
        outputs[0] = y;
    }
}

/// <summary>Identity: a copy of the input.</summary>
internal sealed class IdentityOp : OnnxOp
{
    public IdentityOp(OpBuilder b)
    {
        b.Inputs(1, 1);
        b.Outputs(1);
    }

    public override void Execute(OpContext ctx, ReadOnlySpan<OnnxValue?> inputs, Span<OnnxValue?> outputs) =>
        outputs[0] = ctx.Copy(inputs[0]!);
}

/// <summary>Expand: the input broadcast (NumPy rules, both ways) with the shape in input 1.</summary>
internal sealed class ExpandOp : OnnxOp
{
    public ExpandOp(OpBuilder b)
    {
        b.Inputs(2, 2);
        b.Outputs(1);
    }

    public override IReadOnlyList<int> ShapeInputs => [1];

    public override void Execute(OpContext ctx, ReadOnlySpan<OnnxValue?> inputs, Span<OnnxValue?> outputs)
    {
        var x = inputs[0]!;
        int[] requested = inputs[1]!.ToLongs("Expand shape").Select(d => Layout.Dim(d, "Expand", "dimension")).ToArray();
        int[] shape = Broadcast.ResultShape(x.Shape, requested, "Expand");
        var y = ctx.Like(x, shape);
        if (x.IsFloat) Broadcast.Expand(x.Floats, new Shape(x.Shape), new Shape(shape), y.Floats);
        else Broadcast.Expand(x.Longs, new Shape(x.Shape), new Shape(shape), y.Longs);
        outputs[0] = y;
    }
}
