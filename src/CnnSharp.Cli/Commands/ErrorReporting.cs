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
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException or SafeTensorsFormatException
                                      or StateDictException or ChecksumMismatchException or IdxFormatException or ArgumentException)
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
