using System.CommandLine;
using System.CommandLine.Parsing;

namespace CnnSharp.Cli;

/// <summary>
/// The parser configuration of <c>cnnsharp</c>: System.CommandLine's response files (<c>cnnsharp train @args.txt</c>
/// reads more arguments from args.txt), with every failure to read one reported as a parse error naming the file.
/// </summary>
/// <remarks>Why: System.CommandLine 2.0.0 reports a missing response file and an <see cref="IOException"/> as parse
/// errors, but lets <see cref="UnauthorizedAccessException"/> escape <c>Parse</c>: <c>cnnsharp train @.</c> (a directory)
/// or an unreadable file crashed with a stack trace (found by the CLI fuzz target).</remarks>
internal static class ResponseFiles
{
    // System.CommandLine's own reader, kept for the files it can read (its line splitting and comment rules).
    private static readonly TryReplaceToken? s_builtIn = new ParserConfiguration().ResponseFileTokenReplacer;

    /// <summary>The configuration <see cref="Program.Parse"/> uses.</summary>
    public static ParserConfiguration Configuration { get; } = new() { ResponseFileTokenReplacer = TryRead };

    /// <summary>Expands response file <paramref name="path"/> (the argument after its <c>@</c>), or says why it cannot.</summary>
    internal static bool TryRead(string path, out IReadOnlyList<string>? tokens, out string? error)
    {
        tokens = null;
        if (Directory.Exists(path))
        {
            error = $"@{path}: '{Path.GetFullPath(path)}' is a directory, not a response file (a file of arguments, one per line)";
            return false;
        }
        try
        {
            if (s_builtIn is not null) return s_builtIn(path, out tokens, out error);
            error = $"@{path}: response files are not supported";
            return false;
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException or ArgumentException or NotSupportedException)
        {
            error = $"@{path}: cannot read the response file '{path}': {e.Message}";
            return false;
        }
    }
}
