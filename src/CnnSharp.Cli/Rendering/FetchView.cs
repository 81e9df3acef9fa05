using System.Globalization;
using CnnSharp.Data;
using Spectre.Console;

namespace CnnSharp.Cli.Rendering;

/// <summary>Renders MNIST or Fashion-MNIST download progress: a bar per file when the console is interactive, one line per event otherwise.</summary>
internal sealed class FetchView(IAnsiConsole console)
{
    private readonly Dictionary<string, ProgressTask> _tasks = new(StringComparer.Ordinal);
    private ProgressContext? _context;

    /// <summary>Loads MNIST (or, with <paramref name="fashion"/>, Fashion-MNIST) from <paramref name="directory"/>, showing the download when files are missing.</summary>
    public static MnistData Load(IAnsiConsole console, string? directory, bool fashion = false)
    {
        Func<string?, bool, IProgress<FetchProgress>?, MnistData> load = fashion
            ? (d, fetch, progress) => FashionMnist.Load(d, fetch, progress)
            : (d, fetch, progress) => Mnist.Load(d, fetch, progress);
        if (fashion ? FashionMnist.IsPresent(directory) : Mnist.IsPresent(directory)) return load(directory, false, null);
        console.MarkupLine($"{(fashion ? "Fashion-MNIST" : "MNIST")} not found in [blue]{Markup.Escape(directory ?? (fashion ? FashionMnist.DefaultDirectory : Mnist.DefaultDirectory))}[/]; fetching it");
        var view = new FetchView(console);
        if (!console.Profile.Capabilities.Interactive)
            return load(directory, true, new SyncProgress<FetchProgress>(view.Report));
        return console.Progress().AutoClear(false).Columns(ProgressColumns()).Start(ctx =>
        {
            view._context = ctx;
            return load(directory, true, new SyncProgress<FetchProgress>(view.Report));
        });
    }

    internal static ProgressColumn[] ProgressColumns() =>
        [new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn()];

    /// <summary>Handles one fetch report (also used inside the training view's progress context).</summary>
    public void Report(FetchProgress p)
    {
        if (_context is null)
        {
            if (p.Stage != FetchStage.Downloading) console.MarkupLine(Markup.Escape(p.ToString()));
            return;
        }
        lock (_tasks)
        {
            if (!_tasks.TryGetValue(p.FileName, out var task))
            {
                task = _context.AddTask(Markup.Escape(p.FileName), maxValue: 1);
                _tasks.Add(p.FileName, task);
            }
            switch (p.Stage)
            {
                case FetchStage.Downloading when p.TotalBytes is long total && total > 0:
                    task.MaxValue = total;
                    task.Value = p.BytesReceived;
                    break;
                case FetchStage.Completed:
                    task.Value = task.MaxValue;
                    task.StopTask();
                    break;
                case FetchStage.Failed:
                    console.MarkupLine($"[yellow]{Markup.Escape(p.ToString())}[/]");
                    break;
                default:
                    task.Description = Markup.Escape($"{p.FileName} ({p.Source}, {p.BytesReceived.ToString("N0", CultureInfo.InvariantCulture)} bytes)");
                    break;
            }
        }
    }

    /// <summary>Binds this view to an existing progress display.</summary>
    public void Attach(ProgressContext context) => _context = context;
}
