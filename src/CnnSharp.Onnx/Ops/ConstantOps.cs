using CnnSharp.Onnx.Runtime;

namespace CnnSharp.Onnx.Ops;

/// <summary>
/// Constant: a value given by exactly one attribute: <c>value</c> (a tensor), <c>value_float</c>, <c>value_floats</c>,
/// <c>value_int</c> or <c>value_ints</c> (opset 12). String and sparse constants are not supported.
/// </summary>
internal sealed class ConstantOp : OnnxOp
{
    private readonly OnnxValue _value;

    public ConstantOp(OpBuilder b)
    {
        b.Inputs(0, 0);
        b.Outputs(1);
        foreach (string unsupported in new[] { "sparse_value", "value_string", "value_strings" })
            if (b.Node.FindAttribute(unsupported) is not null)
                throw b.Unsupported($"attribute '{unsupported}' is not supported (string and sparse tensors)", unsupported);
        var candidates = new List<OnnxValue>();
        if (b.Tensor("value") is { } tensor) candidates.Add(OnnxValue.FromTensor(tensor));
        if (b.Opset >= 12)
        {
            if (b.Node.FindAttribute("value_float") is not null) candidates.Add(OnnxValue.FromFloats([b.Float("value_float", 0)], []));
            if (b.Floats("value_floats") is { } floats) candidates.Add(OnnxValue.FromFloats(floats, [floats.Length]));
            if (b.Node.FindAttribute("value_int") is not null) candidates.Add(OnnxValue.FromLongs([b.Int("value_int", 0)], []));
            if (b.Ints("value_ints") is { } ints) candidates.Add(OnnxValue.FromLongs(ints, [ints.Length]));
        }
        if (candidates.Count != 1)
            throw b.Invalid($"has {candidates.Count} value attributes; a Constant holds exactly one of value, value_float(s), value_int(s)");
        _value = candidates[0];
    }

    public override void Execute(OpContext ctx, ReadOnlySpan<OnnxValue?> inputs, Span<OnnxValue?> outputs) => outputs[0] = ctx.Copy(_value);
}

/// <summary>ConstantOfShape: a tensor of the shape in input 0 filled with the one-element <c>value</c> tensor (default float 0).</summary>
internal sealed class ConstantOfShapeOp : OnnxOp
{
    private readonly OnnxValue _fill;

    public ConstantOfShapeOp(OpBuilder b)
    {
        b.Inputs(1, 1);
        b.Outputs(1);
        var tensor = b.Tensor("value");
        if (tensor is not null && tensor.ElementCount != 1)
            throw b.Invalid($"attribute 'value' has {tensor.ElementCount} elements; it must hold one");
        _fill = tensor is null ? OnnxValue.FromFloats([0f], [1]) : OnnxValue.FromTensor(tensor);
    }

    public override IReadOnlyList<int> ShapeInputs => [0];

    public override void Execute(OpContext ctx, ReadOnlySpan<OnnxValue?> inputs, Span<OnnxValue?> outputs)
    {
        int[] shape = inputs[0]!.ToLongs("ConstantOfShape shape").Select(d => Layout.Dim(d, "ConstantOfShape", "dimension")).ToArray();
        var y = ctx.Like(_fill, shape);
        if (y.IsFloat) y.Floats.AsSpan().Fill(_fill.Floats[0]);
        else y.Longs.AsSpan().Fill(_fill.Longs[0]);
        outputs[0] = y;
    }
}

/// <summary>
/// Cast to the type in <c>to</c>: floating → integer truncates toward zero, anything → BOOL is "non-zero", and
/// FLOAT16/BFLOAT16 targets round to that precision (values are then carried as float32).
/// </summary>
internal sealed class CastOp : OnnxOp
{
    private readonly OnnxDataType _to;

    public CastOp(OpBuilder b)
    {
        b.Inputs(1, 1);
        b.Outputs(1);
        long to = b.Opset < 6 && b.Node.FindAttribute("to")?.Type == OnnxAttributeType.String
            ? throw b.Unsupported("attribute 'to' as a type name (opset 1-5) is not supported", "to")
            : b.RequiredInt("to");
        _to = (OnnxDataType)to;
        if (!Enum.IsDefined(_to) || _to is OnnxDataType.Undefined or OnnxDataType.String or OnnxDataType.Complex64 or OnnxDataType.Complex128)
            throw b.Unsupported($"attribute 'to' = {to} is not supported (numeric and BOOL types only)", "to");
    }

    public override void Execute(OpContext ctx, ReadOnlySpan<OnnxValue?> inputs, Span<OnnxValue?> outputs)
    {
        var x = inputs[0]!;
        var y = ctx.Create(_to, (int[])x.Shape.Clone());
        int n = x.Count;
        if (y.IsFloat)
        {
            for (int i = 0; i < n; i++) y.Floats[i] = Round(x.IsFloat ? x.Floats[i] : x.Longs[i]);
        }
        else
        {
            for (int i = 0; i < n; i++)
            {
                long v = x.IsFloat ? FloatToLong(x.Floats[i]) : x.Longs[i];
                y.Longs[i] = Narrow(v);
            }
        }
        outputs[0] = y;
    }

    private float Round(float v) => _to switch
    {
        OnnxDataType.Float16 => (float)(Half)v,
        OnnxDataType.BFloat16 => BitConverter.Int32BitsToSingle(IO.ElementCodec.ToBFloat16Bits(v) << 16),
        _ => v,
    };

    private long FloatToLong(float v) =>
        _to == OnnxDataType.Bool ? (v != 0 ? 1 : 0) : float.IsNaN(v) ? 0 : (long)Math.Clamp(Math.Truncate((double)v), long.MinValue, long.MaxValue);

    /// <summary>Wraps to the target width as C's conversions do (two's complement).</summary>
    private long Narrow(long v) => _to switch
    {
        OnnxDataType.Bool => v != 0 ? 1 : 0,
        OnnxDataType.Int8 => (sbyte)v,
        OnnxDataType.UInt8 => (byte)v,
        OnnxDataType.Int16 => (short)v,
        OnnxDataType.UInt16 => (ushort)v,
        OnnxDataType.Int32 => (int)v,
        OnnxDataType.UInt32 => (uint)v,
        _ => v,
    };
}

/// <summary>
/// Dropout at inference: <c>y = x</c> and the optional mask all true (BOOL from opset 10; before, the input's type).
/// Training mode (opset 12's <c>training_mode</c> input true) is random and is refused: at load time when it is a
/// constant, else when a run sets it. Opset 6's <c>is_test</c> flag is ignored: this runtime only does inference.
/// </summary>
internal sealed class DropoutOp : OnnxOp
{
    private readonly bool _boolMask;

    public DropoutOp(OpBuilder b)
    {
        b.Outputs(2);
        _boolMask = b.Opset >= 10;
        if (b.Opset < 12)
        {
            b.Inputs(1, 1);
            b.Float("ratio", 0.5f);
            // Opset 6's is_test is read, but Dropout always runs in inference form here.
            if (b.Opset < 7)
            {
                b.Flag("is_test", false);
                b.Ignore("consumed_inputs");
            }
        }
        else
        {
            b.Inputs(1, 3);
            b.Int("seed", 0);
            if (b.ConstantInput(2) is { } training && training.ScalarAsDouble("Dropout training_mode") != 0)
                throw b.Unsupported("training_mode is true: random Dropout is not supported, CnnSharp runs inference only");
        }
    }

    public override void Execute(OpContext ctx, ReadOnlySpan<OnnxValue?> inputs, Span<OnnxValue?> outputs)
    {
        var x = inputs[0]!;
        if (inputs.Length > 2 && inputs[2] is { } training && training.ScalarAsDouble("Dropout training_mode") != 0)
            throw new ArgumentException("Dropout: training_mode is true, but random Dropout is not supported (inference only)");
        if (inputs.Length > 1 && inputs[1] is { } ratio)
        {
            double r = ratio.ScalarAsDouble("Dropout ratio");
            if (r is < 0 or >= 1) throw new ArgumentException($"Dropout: ratio {r} is outside [0, 1)");
        }
        outputs[0] = ctx.Copy(x);
        if (ctx.IsRequested(1))
        {
            var mask = _boolMask ? ctx.Longs((int[])x.Shape.Clone(), OnnxDataType.Bool) : ctx.Like(x, (int[])x.Shape.Clone());
            if (mask.IsFloat) mask.Floats.AsSpan().Fill(1f);
            else mask.Longs.AsSpan().Fill(1);
            outputs[1] = mask;
        }
    }
}
