using CnnSharp.Onnx;
using Spectre.Console;

namespace CnnSharp.Cli.Commands;

/// <summary>
/// <see cref="ErrorReporting.Guard"/> plus the failures of the interop commands: an ONNX model or module CnnSharp cannot
/// run or export, and a model that rejects the image shape. One red line, exit code 1.
/// </summary>
internal static class InteropErrors
{
    public static int Guard(IAnsiConsole console, Func<int> action) => ErrorReporting.Guard(console, () =>
    {
        try
        {
            return action();
        }
        catch (Exception e) when (e is OnnxUnsupportedException or OnnxExportException or ShapeException)
        {
            console.MarkupLine($"[red]error:[/] {Markup.Escape(ErrorReporting.Describe(e))}");
            return 1;
        }
    });
}
