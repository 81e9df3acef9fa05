using System.CommandLine;
using System.Globalization;
using CnnSharp.Cli.Rendering;
using CnnSharp.Models;
using CnnSharp.Modules;
using CnnSharp.Onnx;
using Spectre.Console;

namespace CnnSharp.Cli.Commands;

/// <summary>
/// <c>cnnsharp summary</c>: the per-layer table of a zoo model, a checkpoint or a PyTorch state dict for one input shape
/// (like torchinfo): output shapes, parameters and mult-adds (definition: <see cref="ModelSummary"/>), and totals.
/// </summary>
internal static class SummaryCommand
{
    /// <summary>The largest <c>--image-size</c>: a 4096x4096 RGB batch of one is already 200 MB of input.</summary>
    public const int MaxImageSize = 4096;

    public static Command Create(IAnsiConsole console)
    {
        var file = new Argument<string?>("checkpoint")
        {
            Description = "A checkpoint from 'cnnsharp train', a PyTorch state dict (.safetensors, .pt, .pth) or an .onnx model; or name a zoo model with --model",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var architecture = new ArchitectureOptions.Binder();
        var inputShape = new Option<string?>("--input-shape") { Description = "Input shape of one image, C,H,W (default: the model's); overrides --in-channels and --image-size" };
        var batch = NumericOption.Int("--batch", "Batch size N of the input (mult-adds and activations scale with it)", 1, max: CommonOptions.MaxBatchSize);
        var json = new Option<bool>("--json") { Description = "Write the summary as JSON (for scripts) instead of a table" };
        var command = new Command("summary", "Show a model's layers, output shapes, parameters and mult-adds for an input shape (like torchinfo)")
        {
            file, inputShape, batch, json,
        };
        architecture.AddTo(command);
        command.SetAction(parse => Run(parse.GetValue(file), architecture.Get(parse), parse.GetValue(inputShape), parse.GetValue(batch), parse.GetValue(json), console));
        return command;
    }

    internal static int Run(string? path, ArchitectureOptions architecture, string? inputShape, int batch, bool json, IAnsiConsole console) =>
        ErrorReporting.Guard(console, () =>
        {
            int[]? shape = inputShape is null ? null : ParseShape(inputShape);
            if (shape is not null) architecture = architecture with { InChannels = shape[0], ImageSize = shape[1] == shape[2] ? shape[1] : architecture.ImageSize };
            string title;
            Module model;
            int channels, height, width;
            if (path is not null)
            {
                if (path.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase)) return OnnxSummary(path, shape, batch, console);
                var loaded = ModelSource.LoadModule(path, architecture);
                (model, title, channels, height, width) = (loaded.Model, $"{loaded.Name} from {path}", loaded.Input.Channels, loaded.Input.Height, loaded.Input.Width);
            }
            else
            {
                if (architecture.Model is not string name) throw new ArgumentException("summary needs a checkpoint or --model <zoo name>");
                var zoo = ModelZoo.Get(name);
                var options = new ZooOptions { InChannels = architecture.InChannels, ImageSize = architecture.ImageSize, NumClasses = architecture.NumClasses, Generator = new Generator(0) };
                model = ModelZoo.Create(name, options);
                title = zoo.Name;
                channels = architecture.InChannels ?? zoo.InChannels;
                height = width = architecture.ImageSize ?? zoo.ImageSize;
            }
            if (shape is not null) (channels, height, width) = (shape[0], shape[1], shape[2]);
            var summary = ModelSummary.Of(model, batch, channels, height, width);
            if (json) WriteJson(console, title, summary);
            else Render(console, title, summary);
            return 0;
        });

    /// <summary>
    /// An ONNX model has no module tree: its rows are the operators of the plan CnnSharp compiles for the input shape
    /// (after batch-norm folding and fusion), each with its output shape (<see cref="OnnxSession.Describe"/>), and the
    /// parameter count is the elements of its floating-point initializers.
    /// </summary>
    private static int OnnxSummary(string path, int[]? shape, int batch, IAnsiConsole console)
    {
        // Direct-kernel chains run outside the compiled plan; without them the plan covers the model and has a shape per op.
        var session = OnnxSession.Load(path, new OnnxSessionOptions { FuseDirectConvolutions = false });
        var dims = session.Model.Graph.RuntimeInputs.Count == 1 ? session.Model.Graph.RuntimeInputs[0].Shape : null;
        if (shape is null)
        {
            if (dims is not { Count: 4 } || !dims[1].IsFixed || !dims[2].IsFixed || !dims[3].IsFixed)
                throw new ArgumentException($"{path}: its input has no fixed (C, H, W); pass --input-shape C,H,W");
            shape = [(int)dims[1].Value!.Value, (int)dims[2].Value!.Value, (int)dims[3].Value!.Value];
        }
        else if (dims is not null && (dims.Count != 4 || Enumerable.Range(0, 3).Any(i => dims[i + 1].IsFixed && dims[i + 1].Value != shape[i])))
        {
            // The session would refuse this input when run; the table printed "runtime: planning ... failed" and exited 0.
            string declared = string.Join(", ", dims.Select(d => d.ToString()));
            throw new ArgumentException($"--input-shape {string.Join(",", shape)}: {path} declares its input as ({declared}), which (N, {string.Join(", ", shape)}) does not match");
        }
        string plan = session.Describe(batch, shape[0], shape[1], shape[2]);
        long parameters = session.Model.Graph.Initializers.Where(t => t.IsFloatingPoint).Sum(t => (long)t.ElementCount);
        var table = Tables.Create(console).Title(Markup.Escape($"{path}, input {Shape.Format([batch, .. shape])}"))
            .AddColumn("operator (fused plan)").AddColumn(new TableColumn("output shape").NoWrap());
        foreach (string line in plan.Split(Environment.NewLine))
        {
            int arrow = line.LastIndexOf(" -> ", StringComparison.Ordinal);
            table.AddRow(Markup.Escape(arrow < 0 ? line : line[..arrow]), Markup.Escape(arrow < 0 ? "" : line[(arrow + 4)..]));
        }
        console.Write(table);
        console.WriteLine($"total params (initializers): {Tables.Count(parameters)}");
        return 0;
    }

    /// <summary>Parses <c>C,H,W</c> (or <c>CxHxW</c>), each from 1 to <see cref="MaxImageSize"/>.</summary>
    /// <exception cref="ArgumentException">Not three whole numbers in range; the message names --input-shape.</exception>
    internal static int[] ParseShape(string text)
    {
        string[] parts = text.Split([',', 'x', 'X'], StringSplitOptions.TrimEntries);
        var dims = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out dims[i]) || dims[i] is < 1 or > MaxImageSize)
                dims = [];
            if (dims.Length == 0) break;
        }
        return dims.Length == 3 ? dims
            : throw new ArgumentException($"--input-shape must be C,H,W with each a whole number from 1 to {MaxImageSize}, got '{text}'");
    }

    /// <summary>One JSON object: model, inputShape, layers (name, type, depth, outputShape, parameters, multAdds, leaf) and the totals.</summary>
    private static void WriteJson(IAnsiConsole console, string name, ModelSummary s) =>
        Tables.WriteJson(console, json =>
        {
            json.WriteString("model", name);
            Tables.Integers(json, "inputShape", s.InputShape.Select(d => (long)d));
            json.WriteStartArray("layers");
            foreach (var l in s.Layers)
            {
                json.WriteStartObject();
                json.WriteString("name", l.Name);
                json.WriteString("type", l.Type);
                json.WriteNumber("depth", l.Depth);
                Tables.Integers(json, "outputShape", l.OutputShape.Select(d => (long)d));
                json.WriteNumber("parameters", l.Parameters);
                json.WriteNumber("multAdds", l.MultAdds);
                json.WriteBoolean("leaf", l.IsLeaf);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteNumber("totalParameters", s.TotalParameters);
            json.WriteNumber("trainableParameters", s.TrainableParameters);
            json.WriteNumber("totalMultAdds", s.TotalMultAdds);
            json.WriteNumber("inputBytes", s.InputBytes);
            json.WriteNumber("activationBytes", s.ActivationBytes);
            json.WriteNumber("parameterBytes", s.ParameterBytes);
        });

    private static void Render(IAnsiConsole console, string name, ModelSummary s)
    {
        var table = Tables.Create(console).Title(Markup.Escape($"{name}, input {Shape.Format([.. s.InputShape])}"))
            .AddColumn(new TableColumn("layer").NoWrap()).AddColumn("type").AddColumn(new TableColumn("output shape").NoWrap())
            .AddColumn(new TableColumn("params").RightAligned()).AddColumn(new TableColumn("mult-adds").RightAligned());
        foreach (var l in s.Layers.Skip(1))
        {
            // A tree as in torchinfo: the last part of the path, indented by depth (full paths are in --json). Containers
            // show "--": their parameters and mult-adds are their children's, listed below them.
            string shortName = l.Name[(l.Name.LastIndexOf('.') + 1)..];
            table.AddRow(Markup.Escape(new string(' ', 2 * (l.Depth - 1)) + shortName), Markup.Escape(l.Type), Markup.Escape(Shape.Format([.. l.OutputShape])),
                l.IsLeaf ? Tables.Count(l.Parameters) : "--", l.IsLeaf ? Tables.Count(l.MultAdds) : "--");
        }
        console.Write(table);
        var totals = Tables.Create(console).HideHeaders().AddColumn("").AddColumn(new TableColumn("").RightAligned());
        totals.AddRow("total params", Tables.Count(s.TotalParameters));
        totals.AddRow("trainable params", Tables.Count(s.TrainableParameters));
        totals.AddRow("non-trainable params", Tables.Count(s.TotalParameters - s.TrainableParameters));
        totals.AddRow("total mult-adds (conv + linear MACs)", $"{Tables.Count(s.TotalMultAdds)} ({(s.TotalMultAdds / 1e9).ToString("F2", CultureInfo.InvariantCulture)} G)");
        totals.AddRow("input size", Megabytes(s.InputBytes));
        totals.AddRow("activations (forward pass)", Megabytes(s.ActivationBytes));
        totals.AddRow("params size", Megabytes(s.ParameterBytes));
        console.Write(totals);
    }

    private static string Megabytes(long bytes) => $"{(bytes / 1e6).ToString("F2", CultureInfo.InvariantCulture)} MB";
}
