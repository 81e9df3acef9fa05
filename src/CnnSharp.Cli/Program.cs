using System.CommandLine;
using CnnSharp.Cli.Commands;
using Spectre.Console;

namespace CnnSharp.Cli;

internal static class Program
{
    public static int Main(string[] args) => BuildRootCommand(AnsiConsole.Console).Parse(args).Invoke();

    /// <summary>The <c>cnnsharp</c> command tree, writing to <paramref name="console"/>.</summary>
    internal static RootCommand BuildRootCommand(IAnsiConsole console)
    {
        var root = new RootCommand("CnnSharp: train and evaluate the seed's ConvNet on MNIST, in pure C#.");
        root.Add(TrainCommand.Create(console));
        root.Add(EvaluateCommand.Create(console));
        return root;
    }
}
