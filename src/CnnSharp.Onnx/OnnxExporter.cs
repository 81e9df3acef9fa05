using System.Runtime.InteropServices;
using CnnSharp.Autograd;
using CnnSharp.IO;
using CnnSharp.Models;
using CnnSharp.Modules;
using CnnSharp.Onnx.Protos;
using Google.Protobuf;
using static CnnSharp.Onnx.OnnxGraphBuilder;

namespace CnnSharp.Onnx;

/// <summary>
/// Writes a model built from CnnSharp's modules as an ONNX file (default opset 13) that ONNX Runtime and other engines
/// run with the same outputs as <see cref="Module.Forward(Tensor)"/> in eval mode.
/// </summary>
/// <remarks>
/// <para>Supported: <see cref="Sequential"/> (nested freely), <see cref="ConvNet"/> (its reshape before <c>fc</c> becomes
/// <c>Flatten(axis=1)</c>), <see cref="VggSmall"/>, modules implementing <see cref="IOnnxExportable"/>, and
/// the layers <see cref="Conv2d"/>, <see cref="Conv1d"/>, <see cref="Linear"/>, <see cref="BatchNorm1d"/>,
/// <see cref="BatchNorm2d"/>, <see cref="ReLU"/>, <see cref="LeakyReLU"/>, <see cref="Sigmoid"/>, <see cref="Tanh"/>,
/// <see cref="MaxPool2d"/>, <see cref="AvgPool2d"/>, <see cref="LPPool2d"/>, <see cref="AdaptiveAvgPool2d"/>,
/// <see cref="AdaptiveMaxPool2d"/>, <see cref="Flatten"/>, <see cref="Dropout"/>, <see cref="Softmax"/>,
/// <see cref="LogSoftmax"/> and <see cref="Identity"/>. Anything else is an <see cref="OnnxExportException"/> naming the
/// module's path and type.</para>
/// <para>The graph has one input <c>input</c> and one output <c>output</c>, FLOAT; the first (batch) dimension is
/// symbolic (<c>batch</c>), the others are fixed to <c>inputShape</c>. Initializers carry the state-dict keys
/// (<c>layer1.0.weight</c>, <c>layer1.1.running_mean</c>, ...), nodes are named <c>/layer1/0/Conv</c> after their module.</para>
/// <para>Mapping: Conv (Conv2d, Conv1d); Gemm with transB for a 2-D Linear input, else Transpose + MatMul + Add;
/// batch norm in eval form as one BatchNormalization node with the running statistics (not folded into the
/// convolution: the file keeps every tensor of the state dict under its key, and runtimes fold it themselves at load);
/// MaxPool / AveragePool with pads, strides, dilations, ceil_mode and count_include_pad; AvgPool2d with a divisor
/// override as a depthwise all-ones Conv (the window sum) divided by the divisor; LPPool2d as PyTorch computes it,
/// Pow(p) -> AveragePool -> Mul(kH*kW) -> Pow(1/p); adaptive pools as GlobalAveragePool / GlobalMaxPool for a 1x1
/// output, as AveragePool / MaxPool when the input divides evenly, otherwise as Slice + ReduceMean / ReduceMax +
/// Concat per output row and column (PyTorch's windows, exactly); Flatten(1, -1) as Flatten(axis=1), other ranges as
/// Reshape; Dropout and Identity as Identity; Softmax / LogSoftmax with the module's axis.</para>
/// <para>The exporter runs the model once (eval mode, no gradients) on a uniform random input of
/// <c>inputShape</c> to learn every layer's input shape; the model's train/eval flags are restored afterwards.</para>
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
    /// <param name="inputShape">An example input shape, batch first, e.g. <c>[1, 1, 28, 28]</c>; the batch size is exported as symbolic.</param>
    /// <param name="path">The target <c>.onnx</c> file; an existing file is replaced only once the new one is complete.</param>
    /// <param name="opset">The ONNX opset, 13 to 17.</param>
    /// <exception cref="OnnxExportException">A module has no ONNX mapping (the message names its path and type).</exception>
    /// <exception cref="ShapeException">The model rejects an input of <paramref name="inputShape"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="opset"/> is outside 13..17 or a dimension is not positive.</exception>
    /// <exception cref="IOException">The file cannot be written; any previous file is left as it was.</exception>
    public static void Export(Module model, int[] inputShape, string path, int opset = DefaultOpset)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        byte[] bytes = ExportToBytes(model, inputShape, opset);
        AtomicFile.Write(path, stream => stream.Write(bytes));
    }

    /// <summary>The serialized ONNX <c>ModelProto</c> that <see cref="Export"/> writes.</summary>
    /// <inheritdoc cref="Export" path="/param[@name='model']|/param[@name='inputShape']|/param[@name='opset']|/exception"/>
    public static byte[] ExportToBytes(Module model, int[] inputShape, int opset = DefaultOpset)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(inputShape);
        if (opset is < DefaultOpset or > MaxOpset)
            throw new ArgumentOutOfRangeException(nameof(opset), opset, $"OnnxExporter: opset must be {DefaultOpset} to {MaxOpset}");
        if (inputShape.Length == 0 || inputShape.Any(d => d <= 0))
            throw new ArgumentOutOfRangeException(nameof(inputShape), $"OnnxExporter: input shape [{string.Join(", ", inputShape)}] must have a batch dimension and positive sizes");

        var flags = model.NamedModules().Select(m => (Module: m.Value, m.Value.Training)).ToList();
        model.Eval();
        try
        {
            using var noGrad = GradMode.NoGrad();
            var builder = new OnnxGraphBuilder();
            builder.Input(InputName, [null, .. inputShape.Skip(1).Select(d => (int?)d)], BatchDimension);
            var input = Tensor.Uniform(new Generator(0x5eed), new Shape(inputShape));
            var result = new Walker(builder).Visit(model, "", new Flow(InputName, input, BatchIntact: true));
            var dims = result.Traced.Shape.Dims.ToArray().Select((d, i) => i == 0 && result.BatchIntact ? (int?)null : d).ToList();
            builder.Output(result.Value, OutputName, dims, BatchDimension);
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
            // Pre-order: a parent's Train() resets its subtree, then each descendant gets its own flag back.
            foreach (var (module, training) in flags) module.Train(training);
        }
    }

    /// <summary>A value flowing through the export: its ONNX name, the traced tensor, and whether dim 0 is still the batch.</summary>
    private readonly record struct Flow(string Value, Tensor Traced, bool BatchIntact);

    private sealed class Walker(OnnxGraphBuilder b)
    {
        public Flow Visit(Module module, string path, Flow x)
        {
            switch (module)
            {
                case Sequential sequential:
                    foreach (var (name, child) in sequential.NamedChildren()) x = Visit(child, Join(path, name), x);
                    return x;
                case ConvNet net:
                    // Forward reshapes to (N, -1) between layer2 and fc: ONNX Flatten(axis=1).
                    return VisitChain(module, [new("layer1", net.Layer1), new("layer2", net.Layer2), new("flatten", new Flatten()), new("fc", net.Fc)], path, x);
                case IOnnxExportable exportable:
                    return VisitChain(module, exportable.OnnxSequence(), path, x);
                case VggSmall vgg:
                    // The core assembly does not reference ONNX, so the zoo model states its chain as a plain method.
                    return VisitChain(module, vgg.OnnxSequence(), path, x);
            }
            Tensor traced;
            try
            {
                traced = module.Forward(x.Traced);
            }
            catch (ShapeException e)
            {
                throw new ShapeException($"OnnxExporter: module '{Display(path)}' ({module.GetType().Name}) rejects its input {x.Traced.Shape}: {e.Message}", e);
            }
            string value = Leaf(module, path, x, traced.Shape);
            bool batchIntact = x.BatchIntact && !(module is Flatten f && Normalize(f.StartDim, x.Traced.Rank) == 0 && x.Traced.Rank > 1);
            return new Flow(value, traced, batchIntact);
        }

        /// <summary>Exports a module as a chain of modules, then checks that the chain reproduces its Forward.</summary>
        private Flow VisitChain(Module module, IEnumerable<KeyValuePair<string, Module>> chain, string path, Flow x)
        {
            var start = x;
            foreach (var (name, child) in chain)
            {
                if (ReferenceEquals(child, module))
                    throw new OnnxExportException(path, module.GetType().Name, "its OnnxSequence() lists the module itself");
                x = Visit(child, Join(path, name), x);
            }
            var expected = module.Forward(start.Traced);
            if (expected.Shape != x.Traced.Shape
                || !MemoryMarshal.AsBytes(expected.Data).SequenceEqual(MemoryMarshal.AsBytes(x.Traced.Data)))
                throw new OnnxExportException(path, module.GetType().Name,
                    $"its OnnxSequence() does not reproduce its Forward (on input {start.Traced.Shape} the chain gives {x.Traced.Shape}, Forward gives {expected.Shape}{(expected.Shape == x.Traced.Shape ? " with different values" : "")})");
            return x;
        }

        /// <summary>Emits the nodes of a leaf module and returns the name of its output value.</summary>
        private string Leaf(Module module, string path, Flow x, Shape outputShape)
        {
            var shape = x.Traced.Shape;
            string type = module.GetType().Name;
            switch (module)
            {
                case Conv2d c:
                    RequireRank(path, type, shape, 4, "(N, C, H, W)");
                    return Conv(path, x.Value, c.Weight, c.Bias, [c.KernelSize.H, c.KernelSize.W], [c.Stride.H, c.Stride.W],
                        [c.Padding.H, c.Padding.W, c.Padding.H, c.Padding.W], [c.Dilation.H, c.Dilation.W], c.Groups);
                case Conv1d c:
                    RequireRank(path, type, shape, 3, "(N, C, L)");
                    return Conv(path, x.Value, c.Weight, c.Bias, [c.KernelSize], [c.Stride], [c.Padding, c.Padding], [c.Dilation], c.Groups);
                case Linear l:
                    return Linear(path, x.Value, shape.Rank, l);
                case BatchNormBase bn:
                    return BatchNorm(path, type, x.Value, shape, bn);
                case ReLU:
                    return b.Node(path, "Relu", [x.Value]);
                case LeakyReLU lr:
                    return b.Node(path, "LeakyRelu", [x.Value], Float("alpha", lr.NegativeSlope));
                case Sigmoid:
                    return b.Node(path, "Sigmoid", [x.Value]);
                case Tanh:
                    return b.Node(path, "Tanh", [x.Value]);
                case Dropout or Identity:
                    return b.Node(path, "Identity", [x.Value]);
                case Softmax s:
                    return b.Node(path, "Softmax", [x.Value], Int("axis", s.Dim));
                case LogSoftmax s:
                    return b.Node(path, "LogSoftmax", [x.Value], Int("axis", s.Dim));
                case Flatten f:
                    return Flatten(path, x.Value, shape, f);
                case MaxPool2d p:
                    RequireRank(path, type, shape, 4, "(N, C, H, W)");
                    return b.Node(path, "MaxPool", [x.Value], Ints("kernel_shape", p.KernelSize.H, p.KernelSize.W),
                        Ints("strides", p.Stride.H, p.Stride.W), Ints("pads", p.Padding.H, p.Padding.W, p.Padding.H, p.Padding.W),
                        Ints("dilations", p.Dilation.H, p.Dilation.W), Int("ceil_mode", p.CeilMode ? 1 : 0));
                case AvgPool2d p:
                    RequireRank(path, type, shape, 4, "(N, C, H, W)");
                    return AvgPool(path, x.Value, shape, outputShape, p);
                case LPPool2d p:
                    RequireRank(path, type, shape, 4, "(N, C, H, W)");
                    return LpPool(path, x.Value, p);
                case AdaptiveAvgPool2d p:
                    RequireRank(path, type, shape, 4, "(N, C, H, W)");
                    return AdaptivePool(path, x.Value, shape, p.OutputSize, average: true);
                case AdaptiveMaxPool2d p:
                    RequireRank(path, type, shape, 4, "(N, C, H, W)");
                    return AdaptivePool(path, x.Value, shape, p.OutputSize, average: false);
                default:
                    throw new OnnxExportException(path, type, module.NamedChildren().Any()
                        ? "a module with its own Forward cannot be traced; build it from Sequential or implement IOnnxExportable"
                        : "no ONNX mapping for this module type (supported: Sequential, ConvNet, VggSmall, IOnnxExportable, Conv1d, Conv2d, Linear, BatchNorm1d, BatchNorm2d, ReLU, LeakyReLU, Sigmoid, Tanh, MaxPool2d, AvgPool2d, LPPool2d, AdaptiveAvgPool2d, AdaptiveMaxPool2d, Flatten, Dropout, Softmax, LogSoftmax, Identity)");
            }
        }

        private string Conv(string path, string x, Tensor weight, Tensor? bias, long[] kernel, long[] strides, long[] pads, long[] dilations, int groups)
        {
            var inputs = new List<string> { x, b.Initializer(Join(path, "weight"), weight) };
            if (bias is not null) inputs.Add(b.Initializer(Join(path, "bias"), bias));
            return b.Node(path, "Conv", inputs, Ints("dilations", dilations), Int("group", groups), Ints("kernel_shape", kernel),
                Ints("pads", pads), Ints("strides", strides));
        }

        private string Linear(string path, string x, int rank, Linear l)
        {
            string w = b.Initializer(Join(path, "weight"), l.Weight);
            string? bias = l.Bias is null ? null : b.Initializer(Join(path, "bias"), l.Bias);
            if (rank == 2)
                return b.Node(path, "Gemm", bias is null ? [x, w] : [x, w, bias], Float("alpha", 1f), Float("beta", 1f), Int("transB", 1));
            string wt = b.Node(path, "Transpose", [w], Ints("perm", 1, 0));
            string y = b.Node(path, "MatMul", [x, wt]);
            return bias is null ? y : b.Node(path, "Add", [y, bias]);
        }

        private string BatchNorm(string path, string type, string x, Shape shape, BatchNormBase bn)
        {
            if (bn.RunningMean is null || bn.RunningVar is null)
                throw new OnnxExportException(path, type, "without running statistics (track_running_stats=False) it normalises with batch statistics even in eval mode, which ONNX BatchNormalization in inference form cannot express");
            if (shape.Rank < 2) throw new OnnxExportException(path, type, $"input {shape} has no channel dimension");
            int c = bn.NumFeatures;
            string scale = bn.Weight is null ? b.Initializer(Join(path, "weight"), Tensor.Ones(c)) : b.Initializer(Join(path, "weight"), bn.Weight);
            string shift = bn.Bias is null ? b.Initializer(Join(path, "bias"), Tensor.Zeros(c)) : b.Initializer(Join(path, "bias"), bn.Bias);
            string mean = b.Initializer(Join(path, "running_mean"), bn.RunningMean);
            string var = b.Initializer(Join(path, "running_var"), bn.RunningVar);
            return b.Node(path, "BatchNormalization", [x, scale, shift, mean, var], Float("epsilon", bn.Eps), Float("momentum", 1f - (bn.Momentum ?? 0.1f)));
        }

        private string Flatten(string path, string x, Shape shape, Flatten f)
        {
            int rank = Math.Max(1, shape.Rank);
            int start = Normalize(f.StartDim, rank), end = Normalize(f.EndDim, rank);
            if (start == end) return b.Node(path, "Identity", [x]);
            if (start == 1 && end == rank - 1) return b.Node(path, "Flatten", [x], Int("axis", 1));
            // Dims before start are copied (0, which keeps a symbolic batch), the merged range is -1, later dims are fixed.
            var target = new List<long>();
            for (int i = 0; i < start; i++) target.Add(0);
            target.Add(-1);
            for (int i = end + 1; i < rank; i++) target.Add(shape[i]);
            return b.Node(path, "Reshape", [x, b.Int64Vector(Join(path, "shape"), [.. target])]);
        }

        private string AvgPool(string path, string x, Shape shape, Shape outputShape, AvgPool2d p)
        {
            long[] pads = [p.Padding.H, p.Padding.W, p.Padding.H, p.Padding.W];
            if (p.DivisorOverride is not int divisor)
                return b.Node(path, "AveragePool", [x], Ints("kernel_shape", p.KernelSize.H, p.KernelSize.W), Ints("strides", p.Stride.H, p.Stride.W),
                    Ints("pads", pads), Int("ceil_mode", p.CeilMode ? 1 : 0), Int("count_include_pad", p.CountIncludePad ? 1 : 0));

            // Window sums (zeros outside the input) from a depthwise all-ones convolution, then one division: PyTorch's
            // divisor_override semantics. Extra end padding reproduces ceil mode's last, partial windows.
            int c = shape[1];
            int outH = outputShape[2], outW = outputShape[3];
            long endH = Math.Max(p.Padding.H, (long)(outH - 1) * p.Stride.H + p.KernelSize.H - shape[2] - p.Padding.H);
            long endW = Math.Max(p.Padding.W, (long)(outW - 1) * p.Stride.W + p.KernelSize.W - shape[3] - p.Padding.W);
            var ones = new float[c * p.KernelSize.H * p.KernelSize.W];
            ones.AsSpan().Fill(1f);
            string w = b.Initializer(Join(path, "window"), ones, [c, 1, p.KernelSize.H, p.KernelSize.W]);
            string sum = b.Node(path, "Conv", [x, w], Int("group", c), Ints("kernel_shape", p.KernelSize.H, p.KernelSize.W),
                Ints("pads", p.Padding.H, p.Padding.W, endH, endW), Ints("strides", p.Stride.H, p.Stride.W));
            return b.Node(path, "Div", [sum, b.Initializer(Join(path, "divisor"), [divisor], [])]);
        }

        private string LpPool(string path, string x, LPPool2d p)
        {
            // PyTorch's lp_pool2d: (avg_pool2d(x^p, ceil_mode) * kH*kW)^(1/p). Without padding, count_include_pad=0 divides
            // a ceil-mode partial window by its real size, as PyTorch's average does.
            string pow = b.Node(path, "Pow", [x, b.Initializer(Join(path, "p"), [(float)p.NormType], [])]);
            string avg = b.Node(path, "AveragePool", [pow], Ints("kernel_shape", p.KernelSize.H, p.KernelSize.W),
                Ints("strides", p.Stride.H, p.Stride.W), Ints("pads", 0, 0, 0, 0), Int("ceil_mode", p.CeilMode ? 1 : 0), Int("count_include_pad", 0));
            string sum = b.Node(path, "Mul", [avg, b.Initializer(Join(path, "window_size"), [p.KernelSize.H * p.KernelSize.W], [])]);
            return b.Node(path, "Pow", [sum, b.Initializer(Join(path, "inverse_p"), [(float)(1.0 / p.NormType)], [])]);
        }

        private string AdaptivePool(string path, string x, Shape shape, (int H, int W) output, bool average)
        {
            int h = shape[2], w = shape[3];
            if (output == (1, 1)) return b.Node(path, average ? "GlobalAveragePool" : "GlobalMaxPool", [x]);
            if (h % output.H == 0 && w % output.W == 0)
            {
                long kh = h / output.H, kw = w / output.W;
                return average
                    ? b.Node(path, "AveragePool", [x], Ints("kernel_shape", kh, kw), Ints("strides", kh, kw), Ints("pads", 0, 0, 0, 0))
                    : b.Node(path, "MaxPool", [x], Ints("kernel_shape", kh, kw), Ints("strides", kh, kw), Ints("pads", 0, 0, 0, 0));
            }
            // Uneven windows: PyTorch's window i spans [floor(i*In/Out), ceil((i+1)*In/Out)). The pool is separable
            // (every cell of a window row shares the column range), so reduce the columns, then the rows.
            string y = AdaptiveAxis(path, x, axis: 3, w, output.W, average);
            return AdaptiveAxis(path, y, axis: 2, h, output.H, average);
        }

        private string AdaptiveAxis(string path, string x, int axis, int input, int output, bool average)
        {
            if (input == output) return x;
            string axes = b.Int64Vector(Join(path, $"axis{axis}"), axis);
            var parts = new List<string>(output);
            for (int i = 0; i < output; i++)
            {
                long start = (long)i * input / output;
                long end = ((long)(i + 1) * input + output - 1) / output;
                string slice = b.Node(path, "Slice", [x, b.Int64Vector(Join(path, $"start{start}"), start), b.Int64Vector(Join(path, $"end{end}"), end), axes]);
                parts.Add(b.Node(path, average ? "ReduceMean" : "ReduceMax", [slice], Ints("axes", axis), Int("keepdims", 1)));
            }
            return b.Node(path, "Concat", parts, Int("axis", axis));
        }

        private static void RequireRank(string path, string type, Shape shape, int rank, string layout)
        {
            if (shape.Rank != rank)
                throw new OnnxExportException(path, type, $"export needs a batched {layout} input, got {shape}");
        }
    }

    private static int Normalize(int dim, int rank) => dim < 0 ? dim + Math.Max(1, rank) : dim;

    private static string Join(string path, string name) => path.Length == 0 ? name : $"{path}.{name}";

    private static string Display(string path) => path.Length == 0 ? "<root>" : path;
}
