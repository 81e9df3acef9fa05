using System.CommandLine;
using CnnSharp.Cli.Rendering;
using Spectre.Console;

namespace CnnSharp.Cli.Commands;

/// <summary>
/// <c>cnnsharp plot</c>: training curves (loss and accuracy against epoch) from a metrics log of
/// <c>train --metrics-log</c>, or with <c>--confusion</c> the confusion matrix of <c>evaluate --json</c> as a heatmap;
/// PNG or SVG by the output's extension, drawn without any native library.
/// </summary>
internal static class PlotCommand
{
    public static Command Create(IAnsiConsole console)
    {
        var input = new Argument<string>("input") { Description = "A metrics log (JSON lines from 'cnnsharp train --metrics-log'), or with --confusion the output of 'cnnsharp evaluate --json'" };
        var confusion = new Option<bool>("--confusion") { Description = "Draw the confusion matrix of an evaluation report instead of training curves" };
        var output = new Option<string>("--output", "-o") { Description = "The image to write: .png or .svg", Required = true };
        var command = new Command("plot", "Draw training curves or a confusion matrix as PNG or SVG") { input, confusion, output };
        command.SetAction(parse => Run(parse.GetValue(input)!, parse.GetValue(confusion), parse.GetValue(output)!, console));
        return command;
    }

    internal static int Run(string inputPath, bool confusion, string outputPath, IAnsiConsole console) =>
        ErrorReporting.Guard(console, () =>
        {
            OutputPath.Check(outputPath, "--output", inputPath, "input");
            ChartFile.IsSvg(outputPath, "--output"); // before reading anything
            string title = Path.GetFileName(inputPath);
            if (confusion)
            {
                var matrix = ConfusionMatrix.Read(inputPath);
                var (width, height) = ConfusionHeatmap.Size(matrix);
                ChartFile.Write(outputPath, "--output", width, height, canvas => ConfusionHeatmap.Draw(canvas, matrix, $"confusion matrix: {title}"));
            }
            else
            {
                var epochs = MetricsLogReader.Read(inputPath);
                ChartFile.Write(outputPath, "--output", TrainingCurves.Width, TrainingCurves.Height, canvas => TrainingCurves.Draw(canvas, epochs, title));
            }
            console.MarkupLine($"wrote [green]{Markup.Escape(outputPath)}[/]");
            return 0;
        });
}
