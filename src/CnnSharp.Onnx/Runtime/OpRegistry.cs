using CnnSharp.Kernels;
using CnnSharp.Onnx.Ops;

namespace CnnSharp.Onnx.Runtime;

/// <summary>
/// The operators CnnSharp executes (standard ONNX domain, opsets <see cref="MinOpset"/> to <see cref="MaxOpset"/>), each
/// with the first opset that defines it, and the factory that builds and validates a node.
/// </summary>
internal static class OpRegistry
{
    /// <summary>Oldest supported standard opset.</summary>
    public const int MinOpset = 1;

    /// <summary>Newest supported standard opset (opset 18 moved several attributes to inputs).</summary>
    public const int MaxOpset = 17;

    private static readonly Dictionary<string, (int Since, Func<OpBuilder, OnnxOp> Create)> s_ops = new(StringComparer.Ordinal)
    {
        ["Abs"] = (1, b => new UnaryOp(b, UnaryKind.Abs)),
        ["Add"] = (1, b => new BinaryOp(b, Arithmetic.Add)),
        ["AveragePool"] = (1, b => new PoolOp(b, max: false)),
        ["BatchNormalization"] = (1, b => new BatchNormOp(b)),
        ["Cast"] = (1, b => new CastOp(b)),
        ["Ceil"] = (1, b => new UnaryOp(b, UnaryKind.Ceil)),
        ["Celu"] = (12, b => new UnaryOp(b, UnaryKind.Celu)),
        ["Clip"] = (1, b => new ClipOp(b)),
        ["Concat"] = (1, b => new ConcatOp(b)),
        ["Constant"] = (1, b => new ConstantOp(b)),
        ["ConstantOfShape"] = (9, b => new ConstantOfShapeOp(b)),
        ["Conv"] = (1, b => new ConvOp(b)),
        ["ConvTranspose"] = (1, b => new ConvTransposeOp(b)),
        ["Div"] = (1, b => new BinaryOp(b, Arithmetic.Div)),
        ["Dropout"] = (1, b => new DropoutOp(b)),
        ["Elu"] = (1, b => new UnaryOp(b, UnaryKind.Elu)),
        ["Exp"] = (1, b => new UnaryOp(b, UnaryKind.Exp)),
        ["Expand"] = (8, b => new ExpandOp(b)),
        ["Flatten"] = (1, b => new FlattenOp(b)),
        ["Floor"] = (1, b => new UnaryOp(b, UnaryKind.Floor)),
        ["Gather"] = (1, b => new GatherOp(b)),
        ["Gemm"] = (1, b => new GemmOp(b)),
        ["GlobalAveragePool"] = (1, b => new GlobalPoolOp(b, max: false)),
        ["GlobalMaxPool"] = (1, b => new GlobalPoolOp(b, max: true)),
        ["HardSigmoid"] = (1, b => new UnaryOp(b, UnaryKind.HardSigmoid)),
        ["HardSwish"] = (14, b => new UnaryOp(b, UnaryKind.HardSwish)),
        ["Identity"] = (1, b => new IdentityOp(b)),
        ["InstanceNormalization"] = (1, b => new InstanceNormOp(b)),
        ["LeakyRelu"] = (1, b => new UnaryOp(b, UnaryKind.LeakyRelu)),
        ["Log"] = (1, b => new UnaryOp(b, UnaryKind.Log)),
        ["LogSoftmax"] = (1, b => new SoftmaxOp(b, log: true)),
        ["LRN"] = (1, b => new LrnOp(b)),
        ["MatMul"] = (1, b => new MatMulOp(b)),
        ["Max"] = (1, b => new VariadicOp(b, Arithmetic.Max, mean: false)),
        ["MaxPool"] = (1, b => new PoolOp(b, max: true)),
        ["Mean"] = (1, b => new VariadicOp(b, Arithmetic.Add, mean: true)),
        ["Min"] = (1, b => new VariadicOp(b, Arithmetic.Min, mean: false)),
        ["Mul"] = (1, b => new BinaryOp(b, Arithmetic.Mul)),
        ["Neg"] = (1, b => new UnaryOp(b, UnaryKind.Neg)),
        ["Pad"] = (1, b => new PadOp(b)),
        ["Pow"] = (1, b => new BinaryOp(b, Arithmetic.Pow)),
        ["PRelu"] = (1, b => new PReluOp(b)),
        ["Reciprocal"] = (1, b => new UnaryOp(b, UnaryKind.Reciprocal)),
        ["ReduceL1"] = (1, b => new ReduceOp(b, ReduceKind.L1)),
        ["ReduceL2"] = (1, b => new ReduceOp(b, ReduceKind.L2)),
        ["ReduceLogSum"] = (1, b => new ReduceOp(b, ReduceKind.LogSum)),
        ["ReduceLogSumExp"] = (1, b => new ReduceOp(b, ReduceKind.LogSumExp)),
        ["ReduceMax"] = (1, b => new ReduceOp(b, ReduceKind.Max)),
        ["ReduceMean"] = (1, b => new ReduceOp(b, ReduceKind.Mean)),
        ["ReduceMin"] = (1, b => new ReduceOp(b, ReduceKind.Min)),
        ["ReduceProd"] = (1, b => new ReduceOp(b, ReduceKind.Prod)),
        ["ReduceSum"] = (1, b => new ReduceOp(b, ReduceKind.Sum)),
        ["ReduceSumSquare"] = (1, b => new ReduceOp(b, ReduceKind.SumSquare)),
        ["Relu"] = (1, b => new UnaryOp(b, UnaryKind.Relu)),
        ["Reshape"] = (1, b => new ReshapeOp(b)),
        ["Round"] = (11, b => new UnaryOp(b, UnaryKind.Round)),
        ["Selu"] = (1, b => new UnaryOp(b, UnaryKind.Selu)),
        ["Shape"] = (1, b => new ShapeOp(b)),
        ["Sigmoid"] = (1, b => new UnaryOp(b, UnaryKind.Sigmoid)),
        ["Sign"] = (9, b => new UnaryOp(b, UnaryKind.Sign)),
        ["Size"] = (1, b => new SizeOp(b)),
        ["Slice"] = (1, b => new SliceOp(b)),
        ["Softmax"] = (1, b => new SoftmaxOp(b, log: false)),
        ["Softplus"] = (1, b => new UnaryOp(b, UnaryKind.Softplus)),
        ["Softsign"] = (1, b => new UnaryOp(b, UnaryKind.Softsign)),
        ["Split"] = (1, b => new SplitOp(b)),
        ["Sqrt"] = (1, b => new UnaryOp(b, UnaryKind.Sqrt)),
        ["Squeeze"] = (1, b => new SqueezeOp(b, unsqueeze: false)),
        ["Sub"] = (1, b => new BinaryOp(b, Arithmetic.Sub)),
        ["Sum"] = (1, b => new VariadicOp(b, Arithmetic.Add, mean: false)),
        ["Tanh"] = (1, b => new UnaryOp(b, UnaryKind.Tanh)),
        ["ThresholdedRelu"] = (10, b => new UnaryOp(b, UnaryKind.ThresholdedRelu)),
        ["Tile"] = (6, b => new TileOp(b)),
        ["Transpose"] = (1, b => new TransposeOp(b)),
        ["Unsqueeze"] = (1, b => new SqueezeOp(b, unsqueeze: true)),
    };

    /// <summary>The supported operator names, sorted.</summary>
    public static IReadOnlyList<string> Names { get; } = s_ops.Keys.Order(StringComparer.Ordinal).ToArray();

    /// <summary>Builds and validates the operator of <paramref name="node"/>.</summary>
    /// <exception cref="OnnxUnsupportedException">Unknown domain or operator, or an unsupported attribute or value.</exception>
    /// <exception cref="OnnxFormatException">The node breaks the operator's specification (input count, attribute type).</exception>
    public static OnnxOp Create(OnnxNode node, int opset, string source, Func<int, OnnxValue?> constantInput)
    {
        if (node.Domain is not ("" or "ai.onnx"))
            throw new OnnxUnsupportedException(source, node, null, $"operator '{node.Domain}.{node.OpType}' is not supported: only the standard ONNX domain is");
        if (!s_ops.TryGetValue(node.OpType, out var entry))
            throw new OnnxUnsupportedException(source, node, null, $"operator '{node.OpType}' is not supported (opset {opset}); supported operators: {string.Join(", ", Names)}");
        if (opset < entry.Since)
            throw new OnnxUnsupportedException(source, node, null, $"operator '{node.OpType}' does not exist in opset {opset} (it was added in opset {entry.Since})");
        var builder = new OpBuilder(node, opset, source, constantInput);
        var op = entry.Create(builder);
        builder.CheckAllAttributesUsed();
        return op;
    }
}
