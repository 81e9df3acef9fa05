using CnnSharp.Compile;
using CnnSharp.Functional;
using CnnSharp.Modules;
using CnnSharp.Onnx.Protos;
using static CnnSharp.Onnx.OnnxGraphBuilder;

namespace CnnSharp.Onnx;

/// <summary>
/// Translates a traced forward pass (<see cref="ExportTrace"/>) into ONNX nodes, op by op, for <see cref="OnnxExporter"/>.
/// </summary>
/// <remarks>
/// <para>Mapping: Conv (stride, padding, dilation, groups; Conv1d is traced as a height-1 2-D convolution on its 3-D tensors and written as a 1-D Conv);
/// ConvTranspose; batch norm in eval form as one BatchNormalization with the running statistics (not folded: the file keeps
/// every state-dict tensor under its key, runtimes fold at load); Relu, Tanh, Sigmoid, LeakyRelu, ReLU6 as Clip(0, 6);
/// MaxPool / AveragePool with pads, strides, dilations, ceil_mode and count_include_pad; an average pool with a divisor
/// override as a depthwise all-ones Conv (the window sum) divided by the divisor; LPPool2d as PyTorch computes it,
/// Pow(p) -> AveragePool -> Mul(kH*kW) -> Pow(1/p); adaptive pools as GlobalAveragePool / GlobalMaxPool for a 1x1 output,
/// AveragePool / MaxPool when the input divides evenly, otherwise Slice + ReduceMean / ReduceMax + Concat per output row
/// and column (PyTorch's windows, exactly); Add / Sub / Mul / Div with NumPy broadcasting (PyTorch's); scalar affine maps
/// as Mul and Add; Exp, Log; sums and means as ReduceSum / ReduceMean; a reshape that keeps dimension 0 and merges the
/// rest as Flatten(axis=1), any other as Reshape; Linear as Gemm(transB) on 2-D input, else Transpose + MatMul + Add;
/// Concat; Stack as Unsqueeze + Concat; Slice; Permute / Transpose as Transpose; Upsample / interpolate as Resize
/// (nearest: asymmetric coordinates with floor; bilinear: pytorch_half_pixel or align_corners); LayerNorm and GroupNorm
/// decomposed into ReduceMean, Sub, Mul, Add, Sqrt, Div (every runtime has these); Softmax / LogSoftmax on one axis.
/// Dropout and Identity in eval mode record nothing.</para>
/// </remarks>
internal sealed class OnnxTranslator
{
    private readonly OnnxGraphBuilder _b;
    private readonly ExportTrace _trace;
    private readonly int _batch;
    private readonly Dictionary<Tensor, string> _values = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<Tensor, string> _stateNames = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<Tensor, bool[]> _dynamic = new(ReferenceEqualityComparer.Instance);
    private readonly bool _dynamicBatch;

    /// <param name="builder">Receives the graph.</param>
    /// <param name="model">The traced model (for the state-dict names of its tensors).</param>
    /// <param name="trace">The trace the graph is built from.</param>
    /// <param name="other">The same model traced at another batch size (dynamic batch), or null (fixed batch).</param>
    public OnnxTranslator(OnnxGraphBuilder builder, Module model, ExportTrace trace, ExportTrace? other)
    {
        _b = builder;
        _trace = trace;
        _batch = trace.Input.Shape[0];
        _dynamicBatch = other is not null;
        foreach (var (key, tensor) in model.NamedParameters().Concat(model.NamedBuffers())) _stateNames.TryAdd(tensor, key);
        _dynamic[trace.Input] = [.. Enumerable.Range(0, trace.Input.Rank).Select(i => i == 0 && other is not null)];
        if (other is null) return;
        if (other.Ops.Count != trace.Ops.Count || other.Ops.Where((op, i) => op.Name != trace.Ops[i].Name).Any())
            throw new OnnxExportException(
                "OnnxExporter: the traced ops change with the batch size, so the model cannot be exported with a symbolic batch; export with a fixed batch size");
        for (int i = 0; i < trace.Ops.Count; i++)
        {
            Shape a = trace.Ops[i].Output.Shape, b = other.Ops[i].Output.Shape;
            if (a.Rank != b.Rank) throw Fail(i, $"its output rank changes with the batch size ({a} vs {b}); export with a fixed batch size");
            _dynamic[trace.Ops[i].Output] = [.. Enumerable.Range(0, a.Rank).Select(d => a[d] != b[d])];
        }
    }

    /// <summary>Emits every op the output depends on, then the graph input and output.</summary>
    public void Translate()
    {
        var input = _trace.Input;
        _b.Input(OnnxExporter.InputName, [.. input.Shape.Dims.ToArray().Select((d, i) => i == 0 && _dynamicBatch ? (int?)null : d)], OnnxExporter.BatchDimension);
        _values[input] = OnnxExporter.InputName;

        var needed = Live();
        for (int i = 0; i < _trace.Ops.Count; i++)
            if (needed[i]) _values[_trace.Ops[i].Output] = Emit(i);

        var output = _trace.Output;
        if (!_values.TryGetValue(output, out var value))
            throw new OnnxExportException("", _trace.Owners.Count > 0 ? _trace.Owners[^1].Module.GetType().Name : "",
                "the forward pass does not compute its output from its input through traced ops (an op outside CnnSharp's functional ops, or one that detaches the input)");
        var dyn = Dynamic(output);
        var dims = new List<int?>();
        for (int d = 0; d < output.Rank; d++)
        {
            if (!dyn[d]) { dims.Add(output.Shape[d]); continue; }
            if (output.Shape[d] != _batch)
                throw new OnnxExportException($"OnnxExporter: output dimension {d} of {output.Shape} changes with the batch size but is not the batch; export with a fixed batch size");
            dims.Add(null);
        }
        _b.Output(value, OnnxExporter.OutputName, dims, OnnxExporter.BatchDimension);
    }

    /// <summary>Which ops the output depends on (a reshape of a weight whose result is unused is left out).</summary>
    private bool[] Live()
    {
        var producer = new Dictionary<Tensor, int>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < _trace.Ops.Count; i++) producer[_trace.Ops[i].Output] = i;
        var live = new bool[_trace.Ops.Count];
        var pending = new Stack<Tensor>([_trace.Output]);
        while (pending.Count > 0)
        {
            if (!producer.TryGetValue(pending.Pop(), out int i) || live[i]) continue;
            live[i] = true;
            foreach (var t in _trace.Ops[i].Inputs) pending.Push(t);
        }
        return live;
    }

    private string Emit(int index)
    {
        var op = _trace.Ops[index];
        string scope = _trace.Owners[index].Path;
        var x = op.Inputs.Length > 0 ? op.Inputs[0] : null;
        string In(int i) => Value(op.Inputs[i], scope);
        switch (op.Spec)
        {
            case Conv2dSpec c:
            {
                var g = c.Geometry;
                var inputs = new List<string> { In(0), Value(c.Weight, scope) };
                if (c.Bias is not null) inputs.Add(Value(c.Bias, scope));
                // F.Conv1d records a height-1 2-D conv on its (N, C, L) input and (K, C/G, KL) weight: ONNX's 1-D Conv.
                if (x!.Rank == 3)
                    return _b.Node(scope, "Conv", inputs, Ints("dilations", g.DilationW), Int("group", g.Groups),
                        Ints("kernel_shape", g.KW), Ints("pads", g.PadLeft, g.PadRight), Ints("strides", g.StrideW));
                RequireImages(index, x);
                return _b.Node(scope, "Conv", inputs, Ints("dilations", g.DilationH, g.DilationW), Int("group", g.Groups),
                    Ints("kernel_shape", g.KH, g.KW), Ints("pads", g.PadTop, g.PadLeft, g.PadBottom, g.PadRight), Ints("strides", g.StrideH, g.StrideW));
            }
            case BatchNormSpec bn:
                return BatchNorm(index, scope, bn, x!);
            case ActivationSpec a:
                return _b.Node(scope, a.Kind switch { ActivationKind.Relu => "Relu", ActivationKind.Tanh => "Tanh", _ => "Sigmoid" }, [In(0)]);
            case MaxPool2dSpec p:
            {
                RequireImages(index, x!);
                var g = p.Geometry;
                return _b.Node(scope, "MaxPool", [In(0)], Ints("kernel_shape", g.KH, g.KW), Ints("strides", g.StrideH, g.StrideW),
                    Ints("pads", g.PadTop, g.PadLeft, g.PadBottom, g.PadRight), Ints("dilations", g.DilationH, g.DilationW), Int("ceil_mode", g.CeilMode ? 1 : 0));
            }
            case AvgPool2dSpec p:
                RequireImages(index, x!);
                return AvgPool(scope, In(0), p);
            case AdaptiveAvgPool2dSpec p:
                RequireImages(index, x!);
                return AdaptivePool(scope, In(0), x!.Shape, (p.Geometry.OutH, p.Geometry.OutW), average: true);
            case AdaptiveMaxPool2dSpec p:
                RequireImages(index, x!);
                return AdaptivePool(scope, In(0), x!.Shape, (op.Output.Shape[2], op.Output.Shape[3]), average: false);
            case AddSpec:
                return _b.Node(scope, "Add", [In(0), In(1)]);
            case BinarySpec bin:
                return _b.Node(scope, bin.Op, [In(0), In(1)]);
            case ReshapeSpec:
                return Reshape(index, scope, x!, op.Output);
            case LinearSpec l:
                return Linear(scope, In(0), x!.Rank, Value(l.Weight, scope), l.Bias is null ? null : Value(l.Bias, scope));
            case Relu6Spec:
                return _b.Node(scope, "Clip", [In(0), Scalar(scope, "min", 0f), Scalar(scope, "max", 6f)]);
            case LeakyReluSpec lr:
                return _b.Node(scope, "LeakyRelu", [In(0)], Float("alpha", lr.NegativeSlope));
            case SoftmaxSpec s:
                return _b.Node(scope, s.Log ? "LogSoftmax" : "Softmax", [In(0)], Int("axis", Normalize(s.Dim, x!.Rank)));
            case AffineSpec af:
            {
                string y = af.Scale == 1f ? In(0) : _b.Node(scope, "Mul", [In(0), Scalar(scope, "scale", af.Scale)]);
                return af.Shift == 0f ? y : _b.Node(scope, "Add", [y, Scalar(scope, "shift", af.Shift)]);
            }
            case UnarySpec u:
                return _b.Node(scope, u.Op, [In(0)]);
            case ReduceSpec r:
                return Reduce(scope, In(0), x!.Rank, r);
            case CatSpec cat:
                return _b.Node(scope, "Concat", [.. op.Inputs.Select(t => Value(t, scope))], Int("axis", Normalize(cat.Dim, x!.Rank)));
            case StackSpec st:
            {
                long axis = Normalize(st.Dim, x!.Rank + 1);
                var parts = op.Inputs.Select(t => Unsqueeze(scope, Value(t, scope), axis)).ToList();
                return _b.Node(scope, "Concat", parts, Int("axis", axis));
            }
            case SliceSpec sl:
            {
                int dim = Normalize(sl.Dim, x!.Rank);
                RequireFixedAxis(index, x, dim, sl.Start is null or 0 && sl.End is null && sl.Step == 1);
                return SliceNode(scope, In(0), dim, sl.Start ?? 0, sl.End ?? long.MaxValue, sl.Step);
            }
            case NarrowSpec n:
            {
                int dim = Normalize(n.Dim, x!.Rank);
                long start = n.Start < 0 ? n.Start + x.Shape[dim] : n.Start;
                RequireFixedAxis(index, x, dim, start == 0 && n.Length == x.Shape[dim]);
                return SliceNode(scope, In(0), dim, start, start + n.Length, 1);
            }
            case PermuteSpec pe:
                return _b.Node(scope, "Transpose", [In(0)], Ints("perm", [.. pe.Dims.Select(d => (long)Normalize(d, x!.Rank))]));
            case TransposeSpec tr:
            {
                var perm = Enumerable.Range(0, x!.Rank).Select(d => (long)d).ToArray();
                int d0 = Normalize(tr.Dim0, x.Rank), d1 = Normalize(tr.Dim1, x.Rank);
                (perm[d0], perm[d1]) = (perm[d1], perm[d0]);
                return _b.Node(scope, "Transpose", [In(0)], Ints("perm", perm));
            }
            case InterpolateSpec it:
                return Resize(scope, In(0), op.Output.Shape, it);
            case ConvTranspose2dSpec ct:
            {
                RequireImages(index, x!);
                var w = op.Inputs[1];
                var inputs = op.Inputs.Select(t => Value(t, scope)).ToList();
                return _b.Node(scope, "ConvTranspose", inputs, Ints("dilations", ct.Dilation.H, ct.Dilation.W), Int("group", ct.Groups),
                    Ints("kernel_shape", w.Shape[2], w.Shape[3]), Ints("output_padding", ct.OutputPadding.H, ct.OutputPadding.W),
                    Ints("pads", ct.Padding.H, ct.Padding.W, ct.Padding.H, ct.Padding.W), Ints("strides", ct.Stride.H, ct.Stride.W));
            }
            case LayerNormSpec ln:
            {
                var axes = Enumerable.Range(x!.Rank - ln.NormalizedShape.Length, ln.NormalizedShape.Length).Select(a => (long)a).ToArray();
                string y = Normalise(scope, In(0), axes, ln.Eps);
                if (ln.HasWeight) y = _b.Node(scope, "Mul", [y, In(1)]);
                return ln.HasBias ? _b.Node(scope, "Add", [y, Value(op.Inputs[^1], scope)]) : y;
            }
            case GroupNormSpec gn:
                return GroupNorm(index, scope, op, gn);
            case EagerSpec when _trace.Owners[index].Module is LPPool2d lp && op.Name.Contains("LpPool", StringComparison.Ordinal):
                // F.LpPool2d is an eager island with no description; the module that ran it holds its parameters.
                RequireImages(index, x!);
                return LpPool(scope, In(0), lp);
            case EagerSpec:
                throw Fail(index, $"op {op.Name} has no ONNX mapping");
            default:
                throw Fail(index, $"op {op.Name} has no ONNX mapping");
        }
    }

    /// <summary>The ONNX name of <paramref name="t"/>: a value computed earlier, or an initializer (under its state-dict key when it has one).</summary>
    private string Value(Tensor t, string scope)
    {
        if (_values.TryGetValue(t, out var name)) return name;
        name = _b.Initializer(_stateNames.TryGetValue(t, out var key) ? key : Join(scope, "constant"), t);
        _values[t] = name;
        return name;
    }

    private bool[] Dynamic(Tensor t) => _dynamic.TryGetValue(t, out var d) ? d : new bool[t.Rank];

    private string BatchNorm(int index, string scope, BatchNormSpec bn, Tensor x)
    {
        if (bn.RunningMean is null || bn.RunningVar is null)
            throw Fail(index, "without running statistics (track_running_stats=False) it normalises with batch statistics even in eval mode, which ONNX BatchNormalization in inference form cannot express");
        if (bn.Training)
            throw Fail(index, "batch norm runs in training mode although the model is in eval mode; ONNX BatchNormalization is exported in inference form");
        if (x.Rank < 2) throw Fail(index, $"input {x.Shape} has no channel dimension");
        int c = x.Shape[1];
        string scale = bn.Weight is null ? _b.Initializer(Join(scope, "weight"), Tensor.Ones(c)) : Value(bn.Weight, scope);
        string shift = bn.Bias is null ? _b.Initializer(Join(scope, "bias"), Tensor.Zeros(c)) : Value(bn.Bias, scope);
        float momentum = bn.Momentum is > 0f and <= 1f ? 1f - bn.Momentum : 0.9f;
        return _b.Node(scope, "BatchNormalization", [Value(x, scope), scale, shift, Value(bn.RunningMean, scope), Value(bn.RunningVar, scope)],
            Float("epsilon", bn.Eps), Float("momentum", momentum));
    }

    private string Reshape(int index, string scope, Tensor x, Tensor y)
    {
        bool[] xd = Dynamic(x), yd = Dynamic(y);
        string input = Value(x, scope);
        if (y.Rank == 2 && x.Rank >= 2 && y.Shape[0] == x.Shape[0] && yd[0] == xd[0] && !yd[1] && !xd.Skip(1).Any(d => d))
            return _b.Node(scope, "Flatten", [input], Int("axis", 1));
        var target = y.Shape.Dims.ToArray().Select(d => (long)d).ToArray();
        var varying = Enumerable.Range(0, y.Rank).Where(d => yd[d]).ToList();
        if (varying.Count > 1)
            throw Fail(index, $"the reshape {x.Shape} -> {y.Shape} spreads the batch over several dimensions; export with a fixed batch size");
        if (varying.Count == 1)
        {
            int d = varying[0];
            // 0 copies the input's (symbolic) batch; -1 lets the runtime infer a dimension that merges it with others.
            target[d] = d == 0 && x.Rank > 0 && xd[0] && y.Shape[0] == x.Shape[0] ? 0 : -1;
        }
        return _b.Node(scope, "Reshape", [input, _b.Int64Vector(Join(scope, "shape"), target)]);
    }

    private string Linear(string scope, string x, int rank, string weight, string? bias)
    {
        if (rank == 2)
            return _b.Node(scope, "Gemm", bias is null ? [x, weight] : [x, weight, bias], Float("alpha", 1f), Float("beta", 1f), Int("transB", 1));
        string wt = _b.Node(scope, "Transpose", [weight], Ints("perm", 1, 0));
        string y = _b.Node(scope, "MatMul", [x, wt]);
        return bias is null ? y : _b.Node(scope, "Add", [y, bias]);
    }

    private string Reduce(string scope, string x, int rank, ReduceSpec r)
    {
        long[]? axes = r.Dim is int d ? [Normalize(d, rank)] : null;
        var keep = Int("keepdims", r.Dim is null ? 0 : r.KeepDim ? 1 : 0);
        if (r.Mean)
            return axes is null ? _b.Node(scope, "ReduceMean", [x], keep) : _b.Node(scope, "ReduceMean", [x], Ints("axes", axes), keep);
        // From opset 13 ReduceSum takes its axes as an input; none reduces everything.
        return axes is null ? _b.Node(scope, "ReduceSum", [x], keep) : _b.Node(scope, "ReduceSum", [x, _b.Int64Vector(Join(scope, "axes"), axes)], keep);
    }

    private string Unsqueeze(string scope, string x, long axis) =>
        _b.Node(scope, "Unsqueeze", [x, _b.Int64Vector(Join(scope, "axes"), axis)]);

    private string SliceNode(string scope, string x, int dim, long start, long end, long step) =>
        _b.Node(scope, "Slice", [x, _b.Int64Vector(Join(scope, "starts"), start), _b.Int64Vector(Join(scope, "ends"), end),
            _b.Int64Vector(Join(scope, "axes"), dim), _b.Int64Vector(Join(scope, "steps"), step)]);

    private string Resize(string scope, string x, Shape outShape, InterpolateSpec it)
    {
        var attributes = new List<AttributeProto>();
        if (it.Mode == InterpolationMode.Nearest)
        {
            attributes.Add(Str("mode", "nearest"));
            attributes.Add(Str("coordinate_transformation_mode", "asymmetric"));
            attributes.Add(Str("nearest_mode", "floor"));
        }
        else
        {
            attributes.Add(Str("mode", "linear"));
            attributes.Add(Str("coordinate_transformation_mode", it.AlignCorners ? "align_corners" : "pytorch_half_pixel"));
        }
        if (it.ScaleFactor is { } f)
        {
            // PyTorch samples with 1/scale_factor when it is given (not In/Out): pass the factor itself.
            string scales = _b.Initializer(Join(scope, "scales"), [1f, 1f, (float)f.H, (float)f.W], [4]);
            return _b.Node(scope, "Resize", [x, "", scales], [.. attributes]);
        }
        // sizes = (N, C) of the input, then the requested (H, W): the batch stays symbolic.
        string shape = _b.Node(scope, "Shape", [x]);
        string nc = SliceNode(scope, shape, 0, 0, 2, 1);
        string sizes = _b.Node(scope, "Concat", [nc, _b.Int64Vector(Join(scope, "size"), outShape[2], outShape[3])], Int("axis", 0));
        return _b.Node(scope, "Resize", [x, "", "", sizes], [.. attributes]);
    }

    /// <summary>(x - mean) / sqrt(var + eps) over <paramref name="axes"/>, biased variance (PyTorch's normalisation layers).</summary>
    private string Normalise(string scope, string x, long[] axes, float eps)
    {
        string mean = _b.Node(scope, "ReduceMean", [x], Ints("axes", axes), Int("keepdims", 1));
        string centred = _b.Node(scope, "Sub", [x, mean]);
        string variance = _b.Node(scope, "ReduceMean", [_b.Node(scope, "Mul", [centred, centred])], Ints("axes", axes), Int("keepdims", 1));
        string std = _b.Node(scope, "Sqrt", [_b.Node(scope, "Add", [variance, Scalar(scope, "eps", eps)])]);
        return _b.Node(scope, "Div", [centred, std]);
    }

    private string GroupNorm(int index, string scope, TracedOp op, GroupNormSpec gn)
    {
        var x = op.Inputs[0];
        if (Dynamic(x).Skip(1).Any(d => d)) throw Fail(index, $"input {x.Shape} follows the batch outside dimension 0; export with a fixed batch size");
        int c = x.Shape[1];
        // (N, C, ...) -> (N, G, C/G * ...): normalise each group's row, then back to the input's shape.
        string grouped = _b.Node(scope, "Reshape", [Value(x, scope), _b.Int64Vector(Join(scope, "groups"), 0, gn.NumGroups, -1)]);
        string normal = Normalise(scope, grouped, [2], gn.Eps);
        long[] back = [0, .. x.Shape.Dims[1..].ToArray().Select(d => (long)d)];
        string y = _b.Node(scope, "Reshape", [normal, _b.Int64Vector(Join(scope, "shape"), back)]);
        // The per-channel affine broadcasts as (C, 1, ..., 1).
        long[] channel = [c, .. Enumerable.Repeat(1L, x.Rank - 2)];
        if (gn.HasWeight) y = _b.Node(scope, "Mul", [y, _b.Node(scope, "Reshape", [Value(op.Inputs[1], scope), _b.Int64Vector(Join(scope, "channel"), channel)])]);
        if (gn.HasBias) y = _b.Node(scope, "Add", [y, _b.Node(scope, "Reshape", [Value(op.Inputs[^1], scope), _b.Int64Vector(Join(scope, "channel"), channel)])]);
        return y;
    }

    private string AvgPool(string scope, string x, AvgPool2dSpec p)
    {
        var g = p.Geometry;
        if (p.DivisorOverride <= 0)
            return _b.Node(scope, "AveragePool", [x], Ints("kernel_shape", g.KH, g.KW), Ints("strides", g.StrideH, g.StrideW),
                Ints("pads", g.PadTop, g.PadLeft, g.PadBottom, g.PadRight), Int("ceil_mode", g.CeilMode ? 1 : 0), Int("count_include_pad", p.CountIncludePad ? 1 : 0));

        // Window sums (zeros outside the input) from a depthwise all-ones convolution, then one division: PyTorch's
        // divisor_override semantics. Extra end padding reproduces ceil mode's last, partial windows.
        long endH = Math.Max(g.PadBottom, (long)(g.OutH - 1) * g.StrideH + g.KH - g.H - g.PadTop);
        long endW = Math.Max(g.PadRight, (long)(g.OutW - 1) * g.StrideW + g.KW - g.W - g.PadLeft);
        var ones = new float[g.C * g.KH * g.KW];
        ones.AsSpan().Fill(1f);
        string w = _b.Initializer(Join(scope, "window"), ones, [g.C, 1, g.KH, g.KW]);
        string sum = _b.Node(scope, "Conv", [x, w], Int("group", g.C), Ints("kernel_shape", g.KH, g.KW),
            Ints("pads", g.PadTop, g.PadLeft, endH, endW), Ints("strides", g.StrideH, g.StrideW));
        return _b.Node(scope, "Div", [sum, Scalar(scope, "divisor", p.DivisorOverride)]);
    }

    private string LpPool(string scope, string x, LPPool2d p)
    {
        // PyTorch's lp_pool2d: (avg_pool2d(x^p, ceil_mode) * kH*kW)^(1/p). Without padding, count_include_pad=0 divides
        // a ceil-mode partial window by its real size, as PyTorch's average does.
        string pow = _b.Node(scope, "Pow", [x, Scalar(scope, "p", (float)p.NormType)]);
        string avg = _b.Node(scope, "AveragePool", [pow], Ints("kernel_shape", p.KernelSize.H, p.KernelSize.W),
            Ints("strides", p.Stride.H, p.Stride.W), Ints("pads", 0, 0, 0, 0), Int("ceil_mode", p.CeilMode ? 1 : 0), Int("count_include_pad", 0));
        string sum = _b.Node(scope, "Mul", [avg, Scalar(scope, "window_size", p.KernelSize.H * p.KernelSize.W)]);
        return _b.Node(scope, "Pow", [sum, Scalar(scope, "inverse_p", (float)(1.0 / p.NormType))]);
    }

    private string AdaptivePool(string scope, string x, Shape shape, (int H, int W) output, bool average)
    {
        int h = shape[2], w = shape[3];
        if (output == (1, 1)) return _b.Node(scope, average ? "GlobalAveragePool" : "GlobalMaxPool", [x]);
        if (h % output.H == 0 && w % output.W == 0)
        {
            long kh = h / output.H, kw = w / output.W;
            return _b.Node(scope, average ? "AveragePool" : "MaxPool", [x], Ints("kernel_shape", kh, kw), Ints("strides", kh, kw), Ints("pads", 0, 0, 0, 0));
        }
        // Uneven windows: PyTorch's window i spans [floor(i*In/Out), ceil((i+1)*In/Out)). The pool is separable
        // (every cell of a window row shares the column range), so reduce the columns, then the rows.
        string y = AdaptiveAxis(scope, x, axis: 3, w, output.W, average);
        return AdaptiveAxis(scope, y, axis: 2, h, output.H, average);
    }

    private string AdaptiveAxis(string scope, string x, int axis, int input, int output, bool average)
    {
        if (input == output) return x;
        var parts = new List<string>(output);
        for (int i = 0; i < output; i++)
        {
            long start = AdaptivePool2dGeometry.Start(i, input, output), end = AdaptivePool2dGeometry.End(i, input, output);
            string slice = SliceNode(scope, x, axis, start, end, 1);
            parts.Add(_b.Node(scope, average ? "ReduceMean" : "ReduceMax", [slice], Ints("axes", axis), Int("keepdims", 1)));
        }
        return _b.Node(scope, "Concat", parts, Int("axis", axis));
    }

    private string Scalar(string scope, string name, float value) => _b.Initializer(Join(scope, name), [value], []);

    private void RequireImages(int index, Tensor x)
    {
        if (x.Rank != 4)
            throw Fail(index, $"export needs a batched (N, C, H, W) input, got {x.Shape}");
    }

    private void RequireFixedAxis(int index, Tensor x, int dim, bool whole)
    {
        if (Dynamic(x)[dim] && !whole)
            throw Fail(index, $"it slices dimension {dim} of {x.Shape}, which follows the batch; export with a fixed batch size");
    }

    private OnnxExportException Fail(int index, string detail)
    {
        var (path, module) = _trace.Owners[index];
        return new OnnxExportException(path, module.GetType().Name, detail);
    }

    private static AttributeProto Str(string name, string value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.String, S = Google.Protobuf.ByteString.CopyFromUtf8(value) };

    private static int Normalize(int dim, int rank) => dim < 0 ? dim + Math.Max(1, rank) : dim;

    private static string Join(string path, string name) => path.Length == 0 ? name : $"{path}.{name}";
}
