using CnnSharp.Cli;
using CnnSharp.Cli.Commands;
using Spectre.Console;

namespace CnnSharp.Tests.Cli;

/// <summary>
/// Response files (<c>cnnsharp train @args.txt</c>): a readable one expands into its arguments; a directory, a missing or
/// an unreadable one is a parse error naming it (exit 2), never an exception out of the parser.
/// </summary>
public sealed class ResponseFileTests
{
    [Fact]
    public void A_response_file_expands_into_its_arguments()
    {
        string file = Path.Combine(Path.GetTempPath(), $"cnnsharp-args-{Guid.NewGuid():N}.txt");
        File.WriteAllLines(file, ["--limit", "300", "--lr", "0.05"]);
        try
        {
            var result = Parse("train", "@" + file);
            Assert.Empty(result.Errors);
            var (options, errors) = TrainCommand.Parse("@" + file);
            Assert.Empty(errors);
            Assert.Equal(300, options!.Limit);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void A_directory_is_a_parse_error_naming_it()
    {
        string dir = Directory.CreateTempSubdirectory("cnnsharp-respdir-").FullName;
        try
        {
            // Before: System.CommandLine's reader threw UnauthorizedAccessException out of Parse (a stack trace, exit 134).
            var result = Parse("train", "@" + dir);
            var error = Assert.Single(result.Errors);
            Assert.Contains(dir, error.Message, StringComparison.Ordinal);
            Assert.Contains("is a directory", error.Message, StringComparison.Ordinal);
            Assert.Equal(Program.UsageError, Program.Invoke(result));
        }
        finally
        {
            Directory.Delete(dir);
        }
    }

    [Fact]
    public void A_missing_file_is_a_parse_error_naming_it()
    {
        string missing = Path.Combine(Path.GetTempPath(), $"cnnsharp-none-{Guid.NewGuid():N}.txt");
        var result = Parse("train", "@" + missing);
        Assert.Contains(result.Errors, e => e.Message.Contains(missing, StringComparison.Ordinal));
    }

    [Fact]
    public void The_fuzz_finding_parses_without_throwing()
    {
        // The CLI fuzz target's input (one argument per line) whose "@." crashed the parser at stop 19.
        byte[] input = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Fixtures", "fuzz", "cli-response-file-directory.bin"));
        string[] args = System.Text.Encoding.UTF8.GetString(input).Split('\n');
        Assert.Contains("@.", args);
        var result = Parse(args);
        Assert.Contains(result.Errors, e => e.Message.Contains("is a directory", StringComparison.Ordinal));
    }

    private static System.CommandLine.ParseResult Parse(params string[] args) =>
        Program.Parse(Program.BuildRootCommand(AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(TextWriter.Null), Interactive = InteractionSupport.No })), args);
}
