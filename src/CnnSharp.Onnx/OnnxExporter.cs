using CnnSharp.IO;
using CnnSharp.Modules;
using CnnSharp.Onnx.Protos;
using Google.Protobuf;

namespace CnnSharp.Onnx;

/// <summary>
/// Writes any model built from CnnSharp's modules and functional ops as an ONNX file (default opset 13) that ONNX Runtime
/// and other engines run with the same outputs as <see cref="Module.Forward(Tensor)"/> in eval mode: the forward pass is
/// traced (the compiled executor's tracer), so custom modules, residual adds and concatenations export as they run.
/// </summary>
/// <remarks>
/// <para>The exporter runs the model once in eval mode on a uniform random input of <c>inputShape</c> and translates every
/// recorded op (<see cref="OnnxTranslator"/> lists the mapping); with a dynamic batch it traces a second time at another
/// batch size to learn which dimensions follow the batch. Control flow that depends on the input's values is frozen at
/// the traced branch, as in <c>torch.onnx.export</c>. The model's train/eval flags and buffers are restored afterwards.</para>
/// <para>The graph has one input <c>input</c> and one output <c>output</c>, FLOAT. With a dynamic batch (the default)
/// the first dimension is symbolic (<c>batch</c>) and the others are fixed to <c>inputShape</c>; with a fixed batch every
/// dimension is fixed. Initializers carry the state-dict keys (<c>layer1.0.weight</c>, <c>layer1.1.running_mean</c>, ...);
/// nodes are named after the module that ran them (<c>/layer1/0/Conv</c>).</para>
/// <para>An op without an ONNX form is an <see cref="OnnxExportException"/> naming the op and the module that ran it.</para>
/// </remarks>
public static class OnnxExporter
{
    /// <summary>The default (and lowest supported) opset.</summary>
    public const int DefaultOpset = 13;

    /// <summary>The highest opset the exporter writes (opset 18 changes the reduce operators' signature).</summary>
    public const int MaxOpset = 17;

    /// <summary>Name of the graph input.</summary>
    public const string InputName = "input";

    /// <summary>Name of the graph output.</summary>
    public const string OutputName = "output";

    /// <summary>Name of the symbolic batch dimension.</summary>
    public const string BatchDimension = "batch";

    /// <summary>Exports <paramref name="model"/> to <paramref name="path"/>, atomically (temporary sibling file, then rename).</summary>
    /// <param name="model">The model (any train/eval state: it is exported in eval form and its flags are restored).</param>
    /// <param name="inputShape">An example input shape, batch first, e.g. <c>[1, 1, 28, 28]</c>.</param>
    /// <param name="path">The target <c>.onnx</c> file; an existing file is replaced only once the new one is complete.</param>
    /// <param name="opset">The ONNX opset, 13 to 17.</param>
    /// <param name="dynamicBatch">True: the batch dimension is symbolic (any batch size runs); false: the file takes
    /// exactly <c>inputShape</c>.</param>
    /// <exception cref="OnnxExportException">An op has no ONNX mapping (the message names the op, the module's path and type),
    /// or the traced graph depends on the batch size in a way ONNX cannot express with a symbolic batch.</exception>
    /// <exception cref="ShapeException">The model rejects an input of <paramref name="inputShape"/> (the message names the module).</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="opset"/> is outside 13..17 or a dimension is not positive.</exception>
    /// <exception cref="IOException">The file cannot be written; any previous file is left as it was.</exception>
    public static void Export(Module model, int[] inputShape, string path, int opset = DefaultOpset, bool dynamicBatch = true)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        byte[] bytes = ExportToBytes(model, inputShape, opset, dynamicBatch);
        AtomicFile.Write(path, stream => stream.Write(bytes));
    }

    /// <summary>The serialized ONNX <c>ModelProto</c> that <see cref="Export"/> writes.</summary>
    /// <inheritdoc cref="Export" path="/param[@name='model']|/param[@name='inputShape']|/param[@name='opset']|/param[@name='dynamicBatch']|/exception"/>
    public static byte[] ExportToBytes(Module model, int[] inputShape, int opset = DefaultOpset, bool dynamicBatch = true)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(inputShape);
        if (opset is < DefaultOpset or > MaxOpset)
            throw new ArgumentOutOfRangeException(nameof(opset), opset, $"OnnxExporter: opset must be {DefaultOpset} to {MaxOpset}");
        if (inputShape.Length == 0 || inputShape.Any(d => d <= 0))
            throw new ArgumentOutOfRangeException(nameof(inputShape), $"OnnxExporter: input shape [{string.Join(", ", inputShape)}] must have a batch dimension and positive sizes");

        var flags = model.NamedModules().Select(m => (Module: m.Value, m.Value.Training)).ToList();
        model.SetTraining(false);
        try
        {
            var trace = ExportTrace.Capture(model, new Shape(inputShape));
            // A second trace at another batch size tells which dimensions follow the batch (a Flatten keeps it in
            // dimension 0; a reshape to (-1) would fold it into the features): they become symbolic in the file.
            var other = dynamicBatch ? ExportTrace.Capture(model, new Shape([inputShape[0] + 1, .. inputShape[1..]])) : null;
            var builder = new OnnxGraphBuilder();
            var translator = new OnnxTranslator(builder, model, trace, other);
            translator.Translate();
            var proto = new ModelProto
            {
                IrVersion = opset <= 14 ? 7 : 8,
                ProducerName = "CnnSharp",
                ProducerVersion = typeof(OnnxExporter).Assembly.GetName().Version?.ToString() ?? "",
                DocString = $"{model.GetType().Name} exported by CnnSharp",
                Graph = builder.Graph,
            };
            proto.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
            return proto.ToByteArray();
        }
        finally
        {
            // Pre-order: a parent's SetTraining resets its subtree, then each descendant gets its own flag back.
            foreach (var (module, training) in flags) module.SetTraining(training);
        }
    }
}
