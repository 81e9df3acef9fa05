using CnnSharp.Data;
using CnnSharp.IO;
using CnnSharp.Modules;
using Spectre.Console;

namespace CnnSharp.Cli.Commands;

/// <summary>Turns the library's expected failures (files, data, checkpoints) into one red line and exit code 1.</summary>
internal static class ErrorReporting
{
    public static int Guard(IAnsiConsole console, Func<int> action)
    {
        try
        {
            return action();
        }
        catch (OptimizerMismatchException e) when (e.SavedOptimizer is "Adam" or "Sgd")
        {
            // The library cannot name the CLI's options; here the fix is one flag away.
            console.MarkupLine($"[red]error:[/] {Markup.Escape($"{e.Path} holds {e.SavedOptimizer} optimizer state; run with --optimizer {e.SavedOptimizer.ToLowerInvariant()}, or without --resume")}");
            return 1;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException or SafeTensorsFormatException
                                      or StateDictException or OptimizerMismatchException or ChecksumMismatchException or IdxFormatException or ArgumentException)
        {
            console.MarkupLine($"[red]error:[/] {Markup.Escape(e.Message)}");
            return 1;
        }
        catch (OperationCanceledException)
        {
            console.MarkupLine("[yellow]cancelled[/]");
            return 130;
        }
    }
}
