using System.CommandLine;
using System.CommandLine.Help;
using CnnSharp.Cli.Commands;
using Spectre.Console;

namespace CnnSharp.Cli;

internal static class Program
{
    /// <summary>The exit code of a command line that does not parse (unknown option, bad or out-of-range value): 2, as usage errors of Unix tools.</summary>
    public const int UsageError = 2;

    public static int Main(string[] args) => Invoke(Parse(BuildRootCommand(Rendering.ConsoleSetup.ForProcess()), args));

    /// <summary>
    /// Parses <paramref name="args"/> with <paramref name="root"/> (<see cref="BuildRootCommand"/>) and the CLI's parser
    /// configuration (<see cref="ResponseFiles"/>): never throws for any strings; every problem is in
    /// <see cref="ParseResult.Errors"/>.
    /// </summary>
    internal static ParseResult Parse(Command root, IReadOnlyList<string> args) => root.Parse(args, ResponseFiles.Configuration);

    /// <summary>The <c>cnnsharp</c> command tree, writing to <paramref name="console"/>.</summary>
    /// <remarks>
    /// <para>A plain command named <c>cnnsharp</c> with help and version options, rather than <see cref="RootCommand"/>, whose name
    /// is the running executable's (<c>CnnSharp.Cli</c> under <c>dotnet run</c>); help then reads <c>cnnsharp train [options]</c>.</para>
    /// <para><c>Parse(BuildRootCommand(console), args)</c> parses and validates a command line without running it, and never
    /// throws for any strings: every conversion and range problem is in <see cref="ParseResult.Errors"/>, and when that is
    /// empty every option's <c>GetValue</c> succeeds. Run the result with <see cref="Invoke"/>.</para>
    /// </remarks>
    internal static Command BuildRootCommand(IAnsiConsole console)
    {
        var root = new Command("cnnsharp", "CnnSharp: train, evaluate, inspect and run CNNs (the model zoo, your own image folders) and export them to ONNX, in pure C#.")
        {
            new HelpOption(),
            new VersionOption(),
        };
        root.Add(TrainCommand.Create(console));
        root.Add(EvaluateCommand.Create(console));
        root.Add(PredictCommand.Create(console));
        root.Add(ExportCommand.Create(console));
        root.Add(SummaryCommand.Create(console));
        root.Add(PlotCommand.Create(console));
        root.Add(VisualizeCommand.Create(console));
        return root;
    }

    /// <summary>
    /// Runs a parsed command line: a command's own exit code, or <see cref="UsageError"/> after printing the parse errors
    /// and the command's help when it did not parse.
    /// </summary>
    internal static int Invoke(ParseResult parse, InvocationConfiguration? configuration = null)
    {
        int code = parse.Invoke(configuration);
        // With errors no command runs: the error action printed them (as does --version's, which refuses other arguments);
        // only --help goes ahead despite them.
        return parse.Errors.Count > 0 && parse.Action is not HelpAction ? UsageError : code;
    }
}
