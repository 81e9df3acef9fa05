using System.CommandLine;
using System.Globalization;
using CnnSharp.Onnx;
using Spectre.Console;

namespace CnnSharp.Cli.Commands;

/// <summary><c>cnnsharp export</c>: writes a checkpoint's (or PyTorch state dict's) model as an ONNX file.</summary>
internal static class ExportCommand
{
    public static Command Create(IAnsiConsole console)
    {
        var checkpoint = new Option<string>("--checkpoint", "-c")
        {
            Description = "A checkpoint from 'cnnsharp train', or a PyTorch state dict (.safetensors) of ConvNet, LeNet-5 or VggSmall",
            Required = true,
        };
        var output = new Option<string>("--output", "-o") { Description = "The ONNX file to write", Required = true };
        var opset = NumericOption.Int("--opset", $"ONNX opset ({OnnxExporter.DefaultOpset} to {OnnxExporter.MaxOpset})", OnnxExporter.DefaultOpset,
            OnnxExporter.DefaultOpset, OnnxExporter.MaxOpset);
        var command = new Command("export", "Write a trained model as ONNX (dynamic batch, batch norm in eval form) for ONNX Runtime and other engines")
        {
            checkpoint, output, opset,
        };
        command.SetAction(parse => Run(parse.GetValue(checkpoint)!, parse.GetValue(output)!, parse.GetValue(opset), console));
        return command;
    }

    internal static int Run(string checkpointPath, string outputPath, int opset, IAnsiConsole console) =>
        InteropErrors.Guard(console, () =>
        {
            // Before anything is read: export --checkpoint a.safetensors --output a.safetensors once replaced the checkpoint with ONNX bytes.
            OutputPath.Check(outputPath, "--output", checkpointPath, "--checkpoint");
            var (model, input) = ModelSource.LoadModule(checkpointPath);
            OnnxExporter.Export(model, [1, input.Channels, input.Height, input.Width], outputPath, opset);
            long bytes = new FileInfo(outputPath).Length;
            console.MarkupLine($"wrote [green]{Markup.Escape(outputPath)}[/]: {model.GetType().Name}, opset {opset.ToString(CultureInfo.InvariantCulture)}, input (batch, {input.Channels.ToString(CultureInfo.InvariantCulture)}, {input.Height.ToString(CultureInfo.InvariantCulture)}, {input.Width.ToString(CultureInfo.InvariantCulture)}), {bytes.ToString("N0", CultureInfo.InvariantCulture)} bytes");
            return 0;
        });
}
