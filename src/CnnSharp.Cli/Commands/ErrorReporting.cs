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
            console.MarkupLine($"[red]error:[/] {Markup.Escape(Describe(e))}");
            return 1;
        }
        catch (OperationCanceledException)
        {
            console.MarkupLine("[yellow]cancelled[/]");
            return 130;
        }
    }

    /// <summary>
    /// The one line shown for <paramref name="e"/>: its message without what .NET appends to an <see cref="ArgumentException"/>
    /// (" (Parameter 'options')" names a C# parameter the user never sees; an out-of-range value's "Actual value was ..."
    /// comes on a second line).
    /// </summary>
    public static string Describe(Exception e)
    {
        ArgumentNullException.ThrowIfNull(e);
        string message = e.Message;
        if (e is ArgumentException { ParamName: string name })
        {
            message = message.Replace($" (Parameter '{name}')", "", StringComparison.Ordinal);
            if (e is ArgumentOutOfRangeException { ActualValue: { } value })
                message = message.Replace($"{Environment.NewLine}Actual value was {value}.", "", StringComparison.Ordinal);
        }
        return message.ReplaceLineEndings(" ");
    }
}
