using System.CommandLine;
using System.Globalization;
using CnnSharp.Cli.Rendering;
using CnnSharp.Models;
using CnnSharp.Modules;
using Spectre.Console;

namespace CnnSharp.Cli.Commands;

/// <summary>
/// <c>cnnsharp summary</c>: the per-layer table of a zoo model for one input shape (like torchinfo): output shapes,
/// parameters and mult-adds (definition: <see cref="ModelSummary"/>), and totals.
/// </summary>
internal static class SummaryCommand
{
    /// <summary>The largest <c>--image-size</c>: a 4096x4096 RGB batch of one is already 200 MB of input.</summary>
    public const int MaxImageSize = 4096;

    public static Command Create(IAnsiConsole console)
    {
        var model = new Option<string>("--model", "-m") { Description = "Zoo model: " + string.Join(", ", ModelZoo.Names), Required = true };
        model.AcceptOnlyFromAmong([.. ModelZoo.Names]);
        var inChannels = NumericOption.OptionalInt("--in-channels", "Input channels (default: the model's)", max: 4096);
        var imageSize = NumericOption.OptionalInt("--image-size", $"Side of the square input, up to {MaxImageSize} (default: the model's)", max: MaxImageSize);
        var numClasses = NumericOption.OptionalInt("--num-classes", "Output classes (default: the model's)", max: 1_000_000);
        var batch = NumericOption.Int("--batch", "Batch size N of the input (mult-adds and activations scale with it)", 1, max: CommonOptions.MaxBatchSize);
        var json = new Option<bool>("--json") { Description = "Write the summary as JSON (for scripts) instead of a table" };
        var command = new Command("summary", "Show a zoo model's layers, output shapes, parameters and mult-adds for an input shape")
        {
            model, inChannels, imageSize, numClasses, batch, json,
        };
        command.SetAction(parse => Run(parse.GetValue(model)!, parse.GetValue(inChannels), parse.GetValue(imageSize), parse.GetValue(numClasses),
            parse.GetValue(batch), parse.GetValue(json), console));
        return command;
    }

    internal static int Run(string name, int? inChannels, int? imageSize, int? numClasses, int batch, bool json, IAnsiConsole console) =>
        ErrorReporting.Guard(console, () =>
        {
            var zoo = ModelZoo.Get(name);
            var options = new ZooOptions { InChannels = inChannels, ImageSize = imageSize, NumClasses = numClasses, Generator = new Generator(0) };
            var model = ModelZoo.Create(name, options);
            int size = imageSize ?? zoo.ImageSize;
            var summary = ModelSummary.Of(model, batch, inChannels ?? zoo.InChannels, size, size);
            if (json) WriteJson(console, zoo.Name, summary);
            else Render(console, zoo.Name, summary);
            return 0;
        });

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
