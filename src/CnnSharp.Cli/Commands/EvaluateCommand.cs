using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using CnnSharp.Data;
using CnnSharp.IO;
using CnnSharp.Kernels;
using CnnSharp.Models;
using CnnSharp.Training;
using Spectre.Console;

namespace CnnSharp.Cli.Commands;

/// <summary>
/// <c>cnnsharp evaluate</c>: loads a checkpoint into a <see cref="ConvNet"/> and reports its MNIST test accuracy and loss,
/// the confusion matrix and per-class metrics (<see cref="ClassificationMetrics"/>), as tables or <c>--json</c>.
/// </summary>
internal static class EvaluateCommand
{
    public static Command Create(IAnsiConsole console)
    {
        var checkpoint = new Option<string>("--checkpoint", "-c")
        {
            Description = "Checkpoint written by 'cnnsharp train'",
            DefaultValueFactory = _ => new TrainingOptions().OutputPath!,
        };
        var dataDir = CommonOptions.DataDirectory();
        var threads = CommonOptions.Threads();
        var batchSize = CommonOptions.BatchSize("Images per forward pass", 1000);
        var limit = CommonOptions.Limit("--limit", "Evaluate on only the first N test images", CommonOptions.TestImages, "MNIST test set");
        var json = new Option<bool>("--json") { Description = "Write the results as JSON (for scripts) instead of tables" };
        var command = new Command("evaluate",
            "Report a checkpoint's accuracy, loss, confusion matrix and per-class precision/recall/F1 on the 10,000 MNIST test images")
        {
            checkpoint, dataDir, threads, batchSize, limit, json,
        };
        command.SetAction(parse => Run(parse.GetValue(checkpoint)!, parse.GetValue(dataDir), parse.GetValue(threads),
            parse.GetValue(batchSize), parse.GetValue(limit), console, parse.GetValue(json)));
        return command;
    }

    internal static int Run(string checkpointPath, string? dataDirectory, int? threads, int batchSize, int? limit, IAnsiConsole console, bool json = false) =>
        ErrorReporting.Guard(console, () =>
        {
            if (threads is int t) ExecutionOptions.Default = ExecutionOptions.Default with { Threads = t };
            var model = new ConvNet(Mnist.NumClasses);
            var info = Checkpoint.Load(checkpointPath, model);
            // With --json the fetch progress must not mix with the document: it goes nowhere.
            var mnist = Rendering.FetchView.Load(json ? Quiet() : console, dataDirectory);
            IDataset test = limit is int n && n < mnist.Test.Count ? mnist.Test.Slice(0, n) : mnist.Test;
            var clock = Stopwatch.StartNew();
            // The compiled executor: batch norm folded into the convolutions, buffers planned once for the batch size.
            var (result, metrics) = Evaluator.EvaluateClassification(model.Compile(), test, Mnist.NumClasses, batchSize);
            clock.Stop();
            if (json)
            {
                Rendering.ClassificationReport.WriteJson(console, Path.GetFullPath(checkpointPath), info.Epoch, result, metrics, clock.Elapsed);
                return 0;
            }

            var table = Rendering.Tables.Create(console).AddColumn("checkpoint").AddColumn("epoch").AddColumn(new TableColumn("test images").RightAligned())
                .AddColumn(new TableColumn("accuracy").RightAligned()).AddColumn(new TableColumn("loss").RightAligned())
                .AddColumn(new TableColumn("time").RightAligned());
            table.AddRow(Markup.Escape(Path.GetFullPath(checkpointPath)), info.Epoch.ToString(CultureInfo.InvariantCulture),
                result.Count.ToString("N0", CultureInfo.InvariantCulture),
                $"{result.Accuracy * 100:F2}% ({result.Correct.ToString(CultureInfo.InvariantCulture)}/{result.Count.ToString(CultureInfo.InvariantCulture)})",
                result.MeanLoss.ToString("F4", CultureInfo.InvariantCulture),
                $"{clock.Elapsed.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture)} s");
            console.Write(table);
            Rendering.ClassificationReport.Render(console, metrics);
            return 0;
        });

    private static IAnsiConsole Quiet() =>
        AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(TextWriter.Null), Interactive = InteractionSupport.No });
}
