using Spectre.Console;

namespace CnnSharp.Cli.Rendering;

/// <summary>
/// The console the commands write to: plain text (no ANSI styles or colours, no live progress, ASCII table borders)
/// when standard output is not a terminal or <c>NO_COLOR</c> is set to a non-empty value (no-color.org); otherwise
/// whatever the terminal supports. On a terminal, tables are laid out within its width. Redirected output has no width
/// to fit, so it is laid out <see cref="RedirectedWidth"/> columns wide (or <c>$COLUMNS</c>, when set): a log or a pipe
/// into grep gets each line whole and every table header uncropped (Spectre wraps lines and crops cells with a non-ASCII
/// ellipsis at the width, 80 by default when redirected).
/// </summary>
internal static class ConsoleSetup
{
    /// <summary>Columns of a redirected console without <c>$COLUMNS</c>: wider than any line or table the commands print.</summary>
    public const int RedirectedWidth = 1000;

    /// <summary>The console of this process.</summary>
    public static IAnsiConsole ForProcess() =>
        Create(Console.Out, Console.IsOutputRedirected, Environment.GetEnvironmentVariable("NO_COLOR"), Environment.GetEnvironmentVariable("COLUMNS"));

    /// <summary>A console on this process's standard error, by the same rules (for messages kept off a JSON standard output).</summary>
    public static IAnsiConsole ForStandardError() =>
        Create(Console.Error, Console.IsErrorRedirected, Environment.GetEnvironmentVariable("NO_COLOR"), Environment.GetEnvironmentVariable("COLUMNS"));

    /// <summary>
    /// A console on <paramref name="output"/>; plain when <paramref name="redirected"/> or <paramref name="noColor"/> is
    /// non-empty; when <paramref name="redirected"/>, <paramref name="columns"/> (a positive integer, else ignored) or
    /// <see cref="RedirectedWidth"/> columns wide.
    /// </summary>
    public static IAnsiConsole Create(TextWriter output, bool redirected, string? noColor, string? columns = null)
    {
        bool plain = redirected || !string.IsNullOrEmpty(noColor);
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = plain ? AnsiSupport.No : AnsiSupport.Detect,
            ColorSystem = plain ? ColorSystemSupport.NoColors : ColorSystemSupport.Detect,
            Interactive = plain ? InteractionSupport.No : InteractionSupport.Detect,
            Out = new AnsiConsoleOutput(output),
        });
        if (redirected)
        {
            console.Profile.Width = int.TryParse(columns, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int n)
                && n is > 0 and <= RedirectedWidth ? n : RedirectedWidth;
        }
        return console;
    }
}
