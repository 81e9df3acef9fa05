using CnnSharp.Onnx;

namespace CnnSharp.Fuzz.Targets;

/// <summary>
/// ONNX: <see cref="OnnxModel.Parse"/>, building an <see cref="OnnxSession"/> with the default options (validation,
/// constant folding, fusion), and, when the declared inputs are small, one run on zero-filled inputs.
/// </summary>
internal sealed class OnnxTarget : FuzzTarget
{
    /// <summary>The most elements the harness gives one input when it runs a model.</summary>
    private const int MaxInputElements = 4096;

    public override string Name => "onnx";

    public override string Execute(byte[] input)
    {
        var model = OnnxModel.Parse(input, "fuzz.onnx");
        var session = new OnnxSession(model);
        string ops = string.Join(",", model.Graph.Nodes.Select(n => n.OpType).Distinct().Order());
        var inputs = new Dictionary<string, OnnxTensor>();
        foreach (string name in session.InputNames)
        {
            var info = model.Graph.Inputs.First(i => i.Name == name);
            int[] dims = info.Shape?.Select(d => d.Value is long v ? (int)Math.Clamp(v, 0, MaxInputElements + 1) : 1).ToArray() ?? [1];
            var shape = new Shape(dims);
            if (shape.Numel > MaxInputElements) return $"{ops}: large input";
            switch (info.ElementType)
            {
                case OnnxDataType.Float or OnnxDataType.Double or OnnxDataType.Float16 or OnnxDataType.BFloat16 or OnnxDataType.Undefined:
                    inputs[name] = OnnxTensor.FromFloats(name, new float[shape.Numel], shape);
                    break;
                case OnnxDataType.Int8 or OnnxDataType.Int16 or OnnxDataType.Int32 or OnnxDataType.Int64 or OnnxDataType.UInt8
                    or OnnxDataType.UInt16 or OnnxDataType.UInt32 or OnnxDataType.UInt64 or OnnxDataType.Bool:
                    inputs[name] = OnnxTensor.FromInt64(name, new long[shape.Numel], shape, info.ElementType);
                    break;
                default:
                    return $"{ops}: input type {info.ElementType}";
            }
        }
        try
        {
            session.Run(inputs);
            return $"{ops}: ran";
        }
        catch (ArgumentException)
        {
            // Run's documented errors (ShapeException is one): the inputs or an operator's shapes were rejected.
            return $"{ops}: run rejected";
        }
    }

    public override bool IsExpected(Exception error) => error is OnnxFormatException or OnnxUnsupportedException;
}
