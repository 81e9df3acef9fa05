using CnnSharp.Cli.Rendering;
using Spectre.Console;

namespace CnnSharp.Tests.Cli;

/// <summary>Plain output when standard output is not a terminal or NO_COLOR is set.</summary>
public sealed class OutputHygieneTests
{
    [Theory]
    [InlineData(true, null)]
    [InlineData(false, "1")]
    [InlineData(true, "yes")]
    public void Redirected_output_or_no_color_gives_a_plain_console(bool redirected, string? noColor)
    {
        var writer = new StringWriter();
        var console = ConsoleSetup.Create(writer, redirected, noColor);
        Assert.False(console.Profile.Capabilities.Ansi);
        Assert.False(console.Profile.Capabilities.Interactive);
        Assert.Equal(ColorSystem.NoColors, console.Profile.Capabilities.ColorSystem);
        console.Write(Tables.Create(console).AddColumn("a").AddRow("[red]x[/]"));
        console.MarkupLine("[bold red]error:[/] plain");
        string text = writer.ToString();
        Assert.DoesNotContain('\u001b', text);
        Assert.DoesNotContain("╭", text, StringComparison.Ordinal);
        Assert.Contains("error: plain", text, StringComparison.Ordinal);
    }
}
