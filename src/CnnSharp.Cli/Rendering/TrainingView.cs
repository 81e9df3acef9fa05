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

    /// <summary>The settings, in two lines; image counts are those of <paramref name="source"/> after the limits.</summary>
    public void Header(TrainingJobOptions job, TrainingJob.DataSource source)
    {
        var o = job.Training;
        string optimizer = o.Optimizer switch
        {
            OptimizerKind.Sgd => $"SGD (momentum {o.Momentum.ToString(s_inv)}{(o.Nesterov ? ", Nesterov" : "")})",
            OptimizerKind.RmsProp => $"RMSprop (momentum {o.Momentum.ToString(s_inv)})",
            OptimizerKind.AdamW => "AdamW",
            _ => "Adam",
        };
        string dataset = job.Dataset is "mnist" ? "MNIST" : job.Dataset is "fashion-mnist" ? "Fashion-MNIST" : job.Dataset;
        console.MarkupLine(
            $"Training [bold]{Markup.Escape(job.Model)}[/] on {Markup.Escape(dataset)}: {o.Epochs} epoch(s), batch {o.BatchSize}, {optimizer}, lr {o.LearningRate.ToString(s_inv)}" +
            (job.Scheduler != SchedulerKind.None ? $", {job.Scheduler.ToString().ToLowerInvariant()} schedule" : "") +
            (job.ValidationSplit > 0 ? $", {(job.ValidationSplit * 100).ToString("0.##", s_inv)}% validation" : ""));
        console.MarkupLine(
            $"seed {o.Seed}, {(job.Threads ?? ExecutionOptions.Current.Threads).ToString(s_inv)} thread(s)" +
            // The count trained on, not the one asked for: a limit past the end of the set takes all of it.
            (job.Limit is int l ? $", first {Math.Min(l, source.TrainImages).ToString("N0", s_inv)} training images" : "") +
            (job.TestLimit is int tl && source.TestImages > 0 ? $", first {Math.Min(tl, source.TestImages).ToString("N0", s_inv)} test images" : "") +
            (job.ResumeFrom is string r ? $", resuming from {Markup.Escape(r)}" : ""));
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
        $"epoch {r.Epoch}/{r.Epochs}  train loss {r.TrainLoss.ToString("F4", s_inv)}" +
        (double.IsNaN(r.ValidationAccuracy) ? "" : $"  val loss {r.ValidationLoss.ToString("F4", s_inv)}  val accuracy {Percent(r.ValidationAccuracy)}") +
        $"  test accuracy {Percent(r.TestAccuracy)}  " +
        $"{r.TrainTime.TotalSeconds.ToString("F1", s_inv)} s  {r.ImagesPerSecond.ToString("F0", s_inv)} images/s" +
        (r.StoppedEarly ? "  (early stop)" : "");

    private static string Percent(double fraction) => double.IsNaN(fraction) ? "-" : $"{(fraction * 100).ToString("F2", s_inv)}%";

    // An epoch whose test set was skipped (--test-every) has no test loss: "-" as for the accuracy, not "NaN".
    private static string Loss(double loss) => double.IsNaN(loss) ? "-" : loss.ToString("F4", s_inv);

    // Fits beside the progress columns in an 80-column terminal.
    internal static string DescribeShort(EpochReport r) =>
        $"epoch {r.Epoch}/{r.Epochs}  loss {r.TrainLoss.ToString("F4", s_inv)}  acc {Percent(r.TestAccuracy)}  " +
        $"{r.ImagesPerSecond.ToString("F0", s_inv)} img/s";

    /// <summary>The per-epoch table, the early stop, the checkpoint and the <paramref name="total"/> wall time of the command.</summary>
    public void Summary(TrainingRun run, TrainingOptions options, TimeSpan total)
    {
        if (run.Reports.Count == 0)
        {
            console.MarkupLine("No epochs left to run: the checkpoint has already reached --epochs (or early stopping ended it).");
            console.MarkupLine(Markup.Escape($"Total time: {TotalTime(total)}"));
            return;
        }
        bool validation = run.ValidationCount > 0;
        var table = Tables.Create(console).Title(Markup.Escape($"{run.ModelName} on {run.Dataset} ({run.TrainCount.ToString("N0", s_inv)} training, " +
                (validation ? $"{run.ValidationCount.ToString("N0", s_inv)} validation, " : "") + $"{run.TestCount.ToString("N0", s_inv)} test images)"))
            .AddColumn("epoch")
            .AddColumn(new TableColumn("train loss").RightAligned());
        if (validation) table.AddColumn(new TableColumn("val loss").RightAligned()).AddColumn(new TableColumn("val accuracy").RightAligned());
        table.AddColumn(new TableColumn("test loss").RightAligned())
            .AddColumn(new TableColumn("test accuracy").RightAligned())
            .AddColumn(new TableColumn("train time").RightAligned())
            .AddColumn(new TableColumn("images/s").RightAligned())
            .AddColumn(new TableColumn("eval time").RightAligned());
        foreach (var r in run.Reports)
        {
            var cells = new List<string> { $"{r.Epoch}/{r.Epochs}{(r.CheckpointPath is not null && options.BestOnly ? " *" : "")}", r.TrainLoss.ToString("F4", s_inv) };
            if (validation) cells.AddRange([r.ValidationLoss.ToString("F4", s_inv), Percent(r.ValidationAccuracy)]);
            cells.AddRange([
                Loss(r.TestLoss),
                Percent(r.TestAccuracy),
                $"{r.TrainTime.TotalSeconds.ToString("F1", s_inv)} s",
                r.ImagesPerSecond.ToString("F0", s_inv),
                $"{r.EvaluationTime.TotalSeconds.ToString("F1", s_inv)} s"]);
            table.AddRow(cells.Select(Markup.Escape).ToArray());
        }
        console.Write(table);
        var last = run.Reports[^1];
        if (last.StoppedEarly)
            console.MarkupLine(Markup.Escape($"Stopped early after epoch {last.Epoch}: {Trainer.MonitorName(options.Monitor)} did not improve for {options.EarlyStoppingPatience} epoch(s)."));
        if (run.Reports.LastOrDefault(r => r.CheckpointPath is not null)?.CheckpointPath is string path)
            console.MarkupLine($"Checkpoint: [blue]{Markup.Escape(path)}[/]");
        console.MarkupLine(Markup.Escape($"Total time: {TotalTime(total)}"));
    }

    /// <summary><c>812.3 s (13 min 32 s)</c>; seconds alone under a minute.</summary>
    internal static string TotalTime(TimeSpan total)
    {
        string seconds = $"{total.TotalSeconds.ToString("F1", s_inv)} s";
        return total.TotalMinutes < 1 ? seconds : $"{seconds} ({(int)total.TotalMinutes} min {total.Seconds} s)";
    }
}
