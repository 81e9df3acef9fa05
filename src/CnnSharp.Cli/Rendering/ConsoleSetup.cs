using Spectre.Console;

namespace CnnSharp.Cli.Rendering;

/// <summary>
/// The console the commands write to: plain text (no ANSI styles or colours, no live progress, ASCII table borders)
/// when standard output is not a terminal or <c>NO_COLOR</c> is set to a non-empty value (no-color.org); otherwise
/// whatever the terminal supports. Tables are laid out within the console's width (80 columns when redirected).
/// </summary>
internal static class ConsoleSetup
{
    /// <summary>The console of this process.</summary>
    public static IAnsiConsole ForProcess() =>
        Create(Console.Out, Console.IsOutputRedirected, Environment.GetEnvironmentVariable("NO_COLOR"));

    /// <summary>A console on <paramref name="output"/>; plain when <paramref name="redirected"/> or <paramref name="noColor"/> is non-empty.</summary>
    public static IAnsiConsole Create(TextWriter output, bool redirected, string? noColor)
    {
        bool plain = redirected || !string.IsNullOrEmpty(noColor);
        return AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = plain ? AnsiSupport.No : AnsiSupport.Detect,
            ColorSystem = plain ? ColorSystemSupport.NoColors : ColorSystemSupport.Detect,
            Interactive = plain ? InteractionSupport.No : InteractionSupport.Detect,
            Out = new AnsiConsoleOutput(output),
        });
    }
}
