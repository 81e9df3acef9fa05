using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using CnnSharp.Data;
using CnnSharp.Kernels;
using CnnSharp.Training;
using Spectre.Console;

namespace CnnSharp.Cli.Commands;

/// <summary>
/// <c>cnnsharp evaluate</c>: runs a checkpoint, PyTorch state dict or ONNX model of any zoo architecture on a data set's
/// test images and reports accuracy and loss, the confusion matrix and per-class metrics (<see cref="ClassificationMetrics"/>),
/// as tables or <c>--json</c>.
/// </summary>
internal static class EvaluateCommand
{
    public static Command Create(IAnsiConsole console)
    {
        var checkpoint = new Option<string>("--checkpoint", "-c")
        {
            Description = "A checkpoint written by 'cnnsharp train', a PyTorch state dict (.safetensors, .pt, .pth) or an .onnx model",
            DefaultValueFactory = _ => new TrainingOptions().OutputPath!,
        };
        var architecture = new ArchitectureOptions.Binder();
        var dataset = new Option<string?>("--dataset", "-d")
        {
            Description = "mnist, fashion-mnist, or a folder with one sub-folder of images per class (default: the checkpoint's data set, else mnist)",
        };
        var dataDir = CommonOptions.DataDirectory();
        var threads = CommonOptions.Threads();
        var batchSize = CommonOptions.BatchSize("Images per forward pass", 1000);
        var limit = NumericOption.OptionalInt("--limit", "Evaluate on only the first N test images of the data set (at most its size)");
        var json = new Option<bool>("--json") { Description = "Write the results as JSON (for scripts and 'cnnsharp plot --confusion') instead of tables" };
        var command = new Command("evaluate",
            "Report a model's accuracy, loss, confusion matrix and per-class precision/recall/F1 on a data set's test images")
        {
            checkpoint, dataset, dataDir, threads, batchSize, limit, json,
        };
        architecture.AddTo(command);
        command.SetAction(parse => Run(new EvaluateRequest(parse.GetValue(checkpoint)!, architecture.Get(parse), parse.GetValue(dataset), parse.GetValue(dataDir),
            parse.GetValue(threads), parse.GetValue(batchSize), parse.GetValue(limit), parse.GetValue(json)), console));
        return command;
    }

    internal static int Run(EvaluateRequest request, IAnsiConsole console) =>
        ErrorReporting.Guard(console, () =>
        {
            if (request.Threads is int t) ExecutionOptions.Default = ExecutionOptions.Default with { Threads = t };
            var source = ModelSource.Load(request.Checkpoint, ImageInversion.Never, request.Architecture);
            // With --json the fetch progress must not mix with the document: it goes nowhere.
            var data = EvaluationData.Load(request.Dataset ?? source.Dataset ?? ModelSource.MnistName, request.DataDirectory,
                source.Input with { Inversion = ImageInversion.Never }, request.Json ? Quiet() : console);
            if (source.NumClasses is int k && k != data.Classes.Count)
                throw new ArgumentException($"{request.Checkpoint}: the model has {k} classes, {data.Name} has {data.Classes.Count}");
            if (source.Classes is { } names && !names.SequenceEqual(data.Classes, StringComparer.Ordinal))
                throw new ArgumentException($"{request.Checkpoint}: the model's classes ({string.Join(", ", names)}) are not {data.Name}'s ({string.Join(", ", data.Classes)})");
            // Bounded by this data set's size, which the parser cannot know; refused past it, like every bound.
            if (request.Limit is int n && n > data.Test.Count)
                throw new ArgumentException($"--limit {n.ToString("N0", CultureInfo.InvariantCulture)}: {data.Name} has {data.Test.Count.ToString("N0", CultureInfo.InvariantCulture)} test images");
            IDataset test = request.Limit is int m && m < data.Test.Count ? new Subset(data.Test, [.. Enumerable.Range(0, m)]) : data.Test;
            var clock = Stopwatch.StartNew();
            // A checkpoint runs compiled: batch norm folded into the convolutions, buffers planned once for the batch size.
            var (result, metrics) = Evaluator.EvaluateClassification(source.Forward, test, data.Classes.Count, request.BatchSize);
            clock.Stop();
            var report = new Rendering.EvaluationReport(Path.GetFullPath(request.Checkpoint), source.Architecture, source.Epoch, data.Name, data.Classes, result, metrics, clock.Elapsed);
            if (request.Json)
            {
                Rendering.ClassificationReport.WriteJson(console, report);
                return 0;
            }

            var table = Rendering.Tables.Create(console).AddColumn("model").AddColumn("data").AddColumn(new TableColumn("test images").RightAligned())
                .AddColumn(new TableColumn("accuracy").RightAligned()).AddColumn(new TableColumn("loss").RightAligned())
                .AddColumn(new TableColumn("time").RightAligned());
            table.AddRow(Markup.Escape(source.Description + (source.Epoch is int e ? $", epoch {e.ToString(CultureInfo.InvariantCulture)}" : "")), Markup.Escape(data.Name),
                result.Count.ToString("N0", CultureInfo.InvariantCulture),
                $"{result.Accuracy * 100:F2}% ({result.Correct.ToString(CultureInfo.InvariantCulture)}/{result.Count.ToString(CultureInfo.InvariantCulture)})",
                result.MeanLoss.ToString("F4", CultureInfo.InvariantCulture),
                $"{clock.Elapsed.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture)} s");
            console.Write(table);
            Rendering.ClassificationReport.Render(console, metrics, data.Classes);
            return 0;
        });

    private static IAnsiConsole Quiet() =>
        AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(TextWriter.Null), Interactive = InteractionSupport.No });
}

/// <summary>The settings of one <c>cnnsharp evaluate</c> run.</summary>
internal sealed record EvaluateRequest(string Checkpoint, ArchitectureOptions Architecture, string? Dataset, string? DataDirectory, int? Threads,
    int BatchSize, int? Limit, bool Json);
