using CnnSharp.Cli;
using Spectre.Console;

namespace CnnSharp.Tests.Cli;

/// <summary>Runs the <c>cnnsharp</c> command tree in-process on a plain, colourless console and captures its output.</summary>
internal static class CliRunner
{
    /// <summary>Invokes the command line <paramref name="args"/> on a console <paramref name="width"/> columns wide.</summary>
    /// <returns>The exit code and everything written to standard output and error.</returns>
    public static (int ExitCode, string Output) Invoke(int width, params string[] args)
    {
        var writer = new StringWriter();
        var console = PlainConsole(writer, width);
        int code = Program.Invoke(Program.BuildRootCommand(console).Parse(args), new System.CommandLine.InvocationConfiguration { Output = writer, Error = writer });
        return (code, writer.ToString());
    }

    /// <summary>A plain, colourless, non-interactive console <paramref name="width"/> columns wide that writes to <paramref name="writer"/>.</summary>
    public static IAnsiConsole PlainConsole(StringWriter writer, int width)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(writer),
        });
        console.Profile.Width = width;
        return console;
    }
}
