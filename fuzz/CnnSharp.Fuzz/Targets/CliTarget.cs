using System.Text;
using System.CommandLine;
using Spectre.Console;
using CliProgram = CnnSharp.Cli.Program;

namespace CnnSharp.Fuzz.Targets;

/// <summary>
/// The CLI's option parsing, in process: the input is the argument list, one argument per line, parsed (with the
/// options' validators) by the real command tree. Parsing only: no command is invoked, nothing is trained or read.
/// Parse errors are the documented outcome; any exception escaping <c>Parse</c> is a finding.
/// </summary>
internal sealed class CliTarget : FuzzTarget
{
    // Built once: parsing does not change the command tree, and building it costs more than a parse.
    private readonly Command _root = CliProgram.BuildRootCommand(AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(TextWriter.Null) }));

    public override string Name => "cli";

    public override IReadOnlyList<byte[]> Dictionary { get; } =
        [.. new[] { "train", "evaluate", "predict", "export", "--help", "--version", "--lr", "--epochs", "--batch-size", "--topk",
            "--opset", "--limit", "--threads", "--seed", "--checkpoint", "--output", "--resume", "--optimizer", "--data-dir", "sgd", "adam",
            "abc", "inf", "-inf", "NaN", "1e309", "-1", "0", "99999999", "2147483648", "", "--", "-", "=", "a.safetensors", "x.png" }
            .Select(t => Encoding.UTF8.GetBytes("\n" + t + "\n"))];

    public override string Execute(byte[] input)
    {
        string[] args = Encoding.UTF8.GetString(input).Split('\n');
        var result = CliProgram.Parse(_root, args);
        string command = result.CommandResult.Command.Name;
        return result.Errors.Count == 0 ? $"{command}: ok" : $"{command}: {result.Errors.Count} errors";
    }

    public override bool IsExpected(Exception error) => error is ArgumentException;
}
