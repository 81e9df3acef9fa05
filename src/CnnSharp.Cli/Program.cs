using System.CommandLine;
using System.CommandLine.Help;
using CnnSharp.Cli.Commands;
using Spectre.Console;

namespace CnnSharp.Cli;

internal static class Program
{
    public static int Main(string[] args) => BuildRootCommand(AnsiConsole.Console).Parse(args).Invoke();

    /// <summary>The <c>cnnsharp</c> command tree, writing to <paramref name="console"/>.</summary>
    /// <remarks>
    /// A plain command named <c>cnnsharp</c> with help and version options, rather than <see cref="RootCommand"/>, whose name
    /// is the running executable's (<c>CnnSharp.Cli</c> under <c>dotnet run</c>); help then reads <c>cnnsharp train [options]</c>.
    /// </remarks>
    internal static Command BuildRootCommand(IAnsiConsole console)
    {
        var root = new Command("cnnsharp", "CnnSharp: train, evaluate and run the seed's ConvNet on MNIST and export it to ONNX, in pure C#.")
        {
            new HelpOption(),
            new VersionOption(),
        };
        root.Add(TrainCommand.Create(console));
        root.Add(EvaluateCommand.Create(console));
        root.Add(PredictCommand.Create(console));
        root.Add(ExportCommand.Create(console));
        return root;
    }
}
