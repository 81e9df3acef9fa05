using System.CommandLine;
using System.Globalization;
using CnnSharp.IO;
using CnnSharp.Models;
using CnnSharp.Modules;
using CnnSharp.Onnx;
using Spectre.Console;

namespace CnnSharp.Cli.Commands;

/// <summary>
/// <c>cnnsharp export</c>: writes a checkpoint's (or PyTorch state dict's) model as an ONNX file, any zoo model, at any
/// input shape, with a symbolic or fixed batch.
/// </summary>
/// <remarks>
/// The architecture comes from <c>--model</c>, else from the checkpoint's <c>model</c> metadata (written by
/// <c>cnnsharp train</c>), else from the file's state-dict keys (<see cref="ModelSource.LoadModule"/>). A zoo model's
/// channel and class counts come from the metadata (<c>in_channels</c>, <c>num_classes</c>), else from the weights' shapes
/// (the first convolution's input channels, the last linear layer's outputs); the input shape from <c>--input-shape</c>,
/// else the metadata (<c>image_size</c>), else the model's design size.
/// </remarks>
internal static class ExportCommand
{
    /// <summary>Checkpoint metadata keys (as <c>cnnsharp train</c> writes them).</summary>
    internal const string ModelKey = "model", InChannelsKey = "in_channels", NumClassesKey = "num_classes", ImageSizeKey = "image_size";

    public static Command Create(IAnsiConsole console)
    {
        var file = new Argument<string?>("checkpoint")
        {
            Description = "A checkpoint from 'cnnsharp train', or a PyTorch state dict (.safetensors) of a zoo model",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var checkpoint = new Option<string?>("--checkpoint", "-c") { Description = "The checkpoint (same as the positional argument)" };
        var output = new Option<string>("--output", "-o") { Description = "The ONNX file to write", Required = true };
        var model = new Option<string?>("--model", "-m") { Description = $"The zoo model the weights belong to ({string.Join(", ", ModelZoo.Names)}); default: the checkpoint's metadata, else recognised by its keys" };
        var inputShape = new Option<string?>("--input-shape") { Description = "The input of one sample, C,H,W (e.g. 3,64,64); default: the checkpoint's image size, else the model's design size" };
        var batch = NumericOption.OptionalInt("--batch", "Export a fixed batch size N (default: a symbolic batch)", 1, 65536);
        var dynamicBatch = new Option<bool>("--dynamic-batch") { Description = "A symbolic batch dimension (the default)" };
        var opset = NumericOption.Int("--opset", $"ONNX opset ({OnnxExporter.DefaultOpset} to {OnnxExporter.MaxOpset})", OnnxExporter.DefaultOpset,
            OnnxExporter.DefaultOpset, OnnxExporter.MaxOpset);
        var command = new Command("export", "Write a trained model as ONNX (any zoo model or input shape, batch norm in eval form) for ONNX Runtime and other engines")
        {
            file, checkpoint, output, model, inputShape, batch, dynamicBatch, opset,
        };
        command.Validators.Add(result =>
        {
            // Presence only: GetValue would throw on a value that failed to parse (already reported as its own error).
            bool positional = result.GetResult(file) is { Tokens.Count: > 0 }, named = result.GetResult(checkpoint) is not null;
            if (positional && named)
                result.AddError("give the checkpoint once: as the argument or with --checkpoint, not both");
            else if (!positional && !named)
                result.AddError("missing the checkpoint to export (cnnsharp export <checkpoint> -o model.onnx)");
            if (result.GetResult(batch) is not null && result.GetResult(dynamicBatch) is not null)
                result.AddError("--batch and --dynamic-batch exclude each other: a file has either a fixed or a symbolic batch");
        });
        command.SetAction(parse => Run(new Request(parse.GetValue(file) ?? parse.GetValue(checkpoint)!, parse.GetValue(output)!, parse.GetValue(opset))
        {
            Model = parse.GetValue(model),
            InputShape = parse.GetValue(inputShape),
            Batch = parse.GetValue(batch),
        }, console));
        return command;
    }

    /// <summary>What to export.</summary>
    internal sealed record Request(string Checkpoint, string Output, int Opset)
    {
        public string? Model { get; init; }
        public string? InputShape { get; init; }
        public int? Batch { get; init; }
    }

    internal static int Run(string checkpointPath, string outputPath, int opset, IAnsiConsole console) =>
        Run(new Request(checkpointPath, outputPath, opset), console);

    internal static int Run(Request request, IAnsiConsole console) =>
        InteropErrors.Guard(console, () =>
        {
            // Before anything is read: export --checkpoint a.safetensors --output a.safetensors once replaced the checkpoint with ONNX bytes.
            OutputPath.Check(request.Output, "--output", request.Checkpoint, "--checkpoint");
            int[]? explicitShape = request.InputShape is null ? null : ParseShape(request.InputShape);
            var (model, sample) = Load(request.Checkpoint, request.Model, explicitShape);
            int n = request.Batch ?? 1;
            OnnxExporter.Export(model, [n, .. sample], request.Output, request.Opset, dynamicBatch: request.Batch is null);
            long bytes = new FileInfo(request.Output).Length;
            string batchText = request.Batch is null ? "batch" : n.ToString(CultureInfo.InvariantCulture);
            console.MarkupLine($"wrote [green]{Markup.Escape(request.Output)}[/]: {model.GetType().Name}, opset {request.Opset.ToString(CultureInfo.InvariantCulture)}, input ({batchText}, {string.Join(", ", sample.Select(d => d.ToString(CultureInfo.InvariantCulture)))}), {bytes.ToString("N0", CultureInfo.InvariantCulture)} bytes");
            return 0;
        });

    /// <summary><c>C,H,W</c> (or any number of positive, comma-separated sizes) as the per-sample input shape.</summary>
    /// <exception cref="ArgumentException">The text is not a list of positive integers.</exception>
    internal static int[] ParseShape(string text)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        var dims = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out dims[i]) || dims[i] is <= 0 or > 65536)
                throw new ArgumentException($"--input-shape '{text}': expected positive sizes separated by commas, e.g. 3,32,32");
        return dims;
    }

    /// <summary>The model and the per-sample input shape to export it at.</summary>
    private static (Module Model, int[] Sample) Load(string path, string? modelName, int[]? explicitShape)
    {
        var file = SafeTensors.Read(path);
        string? name = modelName ?? ZooName(file);
        if (name is null)
        {
            // No architecture named: recognise it by its keys, at the images it was built for.
            var (recognised, input) = ModelSource.LoadModule(path);
            return (recognised, explicitShape ?? [input.Channels, input.Height, input.Width]);
        }
        var zoo = ModelZoo.Get(name);
        // Without metadata the counts are read off the weights, in the model's own key order: the first 4-D weight is
        // the stem convolution (dimension 1: input channels), the last 2-D weight the classifier (dimension 0: classes).
        var layout = ModelZoo.Create(zoo.Name).StateDict().Select(e => e.Key).Where(file.Contains).Select(k => file[k]).ToList();
        int channels = MetadataInt(file, InChannelsKey) ?? layout.FirstOrDefault(e => e.Shape.Rank == 4)?.Shape[1] ?? zoo.InChannels;
        int classes = MetadataInt(file, NumClassesKey) ?? layout.LastOrDefault(e => e.Shape.Rank == 2)?.Shape[0] ?? zoo.NumClasses;
        int size = MetadataInt(file, ImageSizeKey) ?? (zoo.FixedInput ? zoo.ImageSize : explicitShape?.Length == 3 ? explicitShape[1] : zoo.ImageSize);
        var model = ModelZoo.Create(zoo.Name, new ZooOptions { InChannels = channels, NumClasses = classes, ImageSize = size });
        var keys = file.Names.Where(k => !k.StartsWith(Checkpoint.OptimizerPrefix, StringComparison.Ordinal)).ToHashSet(StringComparer.Ordinal);
        var expected = model.StateDict().Select(e => e.Key).ToHashSet(StringComparer.Ordinal);
        if (!expected.SetEquals(keys))
            throw new InvalidDataException(
                $"{path}: its {keys.Count} tensors are not a {zoo.Name} ({expected.Count} tensors); missing: {string.Join(", ", expected.Except(keys).Take(3))}; unexpected: {string.Join(", ", keys.Except(expected).Take(3))}");
        if (file.Metadata.ContainsKey(Checkpoint.EpochKey)) Checkpoint.Load(path, model);
        else model.LoadSafetensors(file);
        return (model, explicitShape ?? [channels, size, size]);
    }

    /// <summary>
    /// The zoo name in the checkpoint's <c>model</c> metadata: a zoo name, or the class name <see cref="Checkpoint.Save"/>
    /// writes (<c>MobileNetV2</c> for <c>mobilenet-v2</c>); null when absent or not a zoo model (e.g. <c>Sequential</c>).
    /// </summary>
    private static string? ZooName(SafeTensorsFile file)
    {
        if (!file.Metadata.TryGetValue(ModelKey, out var text)) return null;
        static string Plain(string s) => s.Replace("-", "", StringComparison.Ordinal);
        return ModelZoo.Names.FirstOrDefault(n => string.Equals(Plain(n), Plain(text), StringComparison.OrdinalIgnoreCase));
    }

    private static int? MetadataInt(SafeTensorsFile file, string key) =>
        file.Metadata.TryGetValue(key, out var text) && int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int v) && v > 0 ? v : null;
}
