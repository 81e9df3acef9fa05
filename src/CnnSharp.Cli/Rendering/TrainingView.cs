using System.Globalization;
using CnnSharp.Cli.Commands;
using CnnSharp.Cli.Training;
using CnnSharp.Data;
using CnnSharp.Kernels;
using CnnSharp.Training;
using Spectre.Console;

namespace CnnSharp.Cli.Rendering;

/// <summary>
/// Renders a training run: the settings, a progress bar per epoch (interactive consoles) or one line per epoch, and a
/// final table with per-epoch train loss, test accuracy, wall time and images/s.
/// </summary>
internal sealed class TrainingView(IAnsiConsole console)
{
    private static readonly CultureInfo s_inv = CultureInfo.InvariantCulture;

    public void Header(TrainingOptions o)
    {
        string optimizer = o.Optimizer == OptimizerKind.Sgd
            ? $"SGD (momentum {o.Momentum.ToString(s_inv)})"
            : "Adam";
        console.MarkupLine(
            $"Training [bold]ConvNet[/] on MNIST: {o.Epochs} epoch(s), batch {o.BatchSize}, {optimizer}, lr {o.LearningRate.ToString(s_inv)}");
        console.MarkupLine(
            $"seed {o.Seed}, {(o.Threads ?? ExecutionOptions.Current.Threads).ToString(s_inv)} thread(s)" +
            // The count trained on, not the one asked for: a limit past the end of the set takes all of it.
            (o.Limit is int l ? $", first {Math.Min(l, CommonOptions.TrainImages).ToString("N0", s_inv)} training images" : "") +
            (o.TestLimit is int tl ? $", first {Math.Min(tl, CommonOptions.TestImages).ToString("N0", s_inv)} test images" : "") +
            (o.ResumeFrom is string r ? $", resuming from {Markup.Escape(r)}" : ""));
    }

    /// <summary>Runs <paramref name="work"/> with progress reporters wired to this console.</summary>
    public TrainingRun Show(Func<IProgress<EpochReport>, IProgress<BatchReport>, IProgress<FetchProgress>, TrainingRun> work)
    {
        var fetch = new FetchView(console);
        if (!console.Profile.Capabilities.Interactive)
        {
            return work(new SyncProgress<EpochReport>(r => console.MarkupLine(Markup.Escape(Describe(r)))),
                new SyncProgress<BatchReport>(_ => { }), new SyncProgress<FetchProgress>(fetch.Report));
        }
        return console.Progress().AutoClear(false).HideCompleted(false).Columns(FetchView.ProgressColumns()).Start(ctx =>
        {
            fetch.Attach(ctx);
            ProgressTask? task = null;
            var batches = new SyncProgress<BatchReport>(b =>
            {
                if (task is null || b.Batch == 1)
                    task = ctx.AddTask($"epoch {b.Epoch}", maxValue: b.BatchCount);
                task.Value = b.Batch;
                if (b.Batch % 10 == 0 || b.Batch == b.BatchCount)
                    task.Description = $"epoch {b.Epoch}  loss {b.Loss.ToString("F4", s_inv)}";
            });
            var epochs = new SyncProgress<EpochReport>(r =>
            {
                if (task is null) return;
                task.Description = Markup.Escape(DescribeShort(r));
                task.StopTask();
                task = null;
            });
            return work(epochs, batches, new SyncProgress<FetchProgress>(fetch.Report));
        });
    }

    internal static string Describe(EpochReport r) =>
        $"epoch {r.Epoch}/{r.Epochs}  train loss {r.TrainLoss.ToString("F4", s_inv)}  test accuracy {(r.TestAccuracy * 100).ToString("F2", s_inv)}%  " +
        $"{r.TrainTime.TotalSeconds.ToString("F1", s_inv)} s  {r.ImagesPerSecond.ToString("F0", s_inv)} images/s";

    // Fits beside the progress columns in an 80-column terminal.
    internal static string DescribeShort(EpochReport r) =>
        $"epoch {r.Epoch}/{r.Epochs}  loss {r.TrainLoss.ToString("F4", s_inv)}  acc {(r.TestAccuracy * 100).ToString("F2", s_inv)}%  " +
        $"{r.ImagesPerSecond.ToString("F0", s_inv)} img/s";

    public void Summary(TrainingRun run)
    {
        if (run.Reports.Count == 0)
        {
            console.MarkupLine("No epochs left to run: the checkpoint has already reached --epochs.");
            return;
        }
        var table = new Table().Title($"ConvNet on MNIST ({run.TrainCount.ToString("N0", s_inv)} training, {run.TestCount.ToString("N0", s_inv)} test images)")
            .AddColumn("epoch")
            .AddColumn(new TableColumn("train loss").RightAligned())
            .AddColumn(new TableColumn("test loss").RightAligned())
            .AddColumn(new TableColumn("test accuracy").RightAligned())
            .AddColumn(new TableColumn("train time").RightAligned())
            .AddColumn(new TableColumn("images/s").RightAligned())
            .AddColumn(new TableColumn("eval time").RightAligned());
        foreach (var r in run.Reports)
        {
            table.AddRow(
                $"{r.Epoch}/{r.Epochs}",
                r.TrainLoss.ToString("F4", s_inv),
                r.TestLoss.ToString("F4", s_inv),
                $"{(r.TestAccuracy * 100).ToString("F2", s_inv)}%",
                $"{r.TrainTime.TotalSeconds.ToString("F1", s_inv)} s",
                r.ImagesPerSecond.ToString("F0", s_inv),
                $"{r.EvaluationTime.TotalSeconds.ToString("F1", s_inv)} s");
        }
        console.Write(table);
        if (run.Reports.Count > 0 && run.Reports[^1].CheckpointPath is string path)
            console.MarkupLine($"Checkpoint: [blue]{Markup.Escape(path)}[/]");
    }
}
