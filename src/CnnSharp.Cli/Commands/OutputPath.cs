namespace CnnSharp.Cli.Commands;

/// <summary>Checks a command's output path before anything is written: not a directory, and not one of the command's own inputs.</summary>
/// <remarks>
/// Paths are compared after resolving symbolic links in every component (<c>link/../x</c> the way the kernel reads it),
/// by the platform's case rule: case-insensitive on Windows and macOS, whose default file systems are, exact elsewhere.
/// A second hard link to the input is not detected and needs not be: outputs are written to a temporary file that is
/// then renamed over the output path, which replaces that directory entry and leaves the input's data as it was.
/// </remarks>
internal static class OutputPath
{
    private const int MaxLinkHops = 40; // Linux's own limit (ELOOP)

    private static StringComparison PathComparison =>
        OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;

    /// <summary>Throws when <paramref name="output"/> is a directory, is in a directory that does not exist, or names the same
    /// file as <paramref name="input"/>.</summary>
    /// <param name="output">The path the command will write.</param>
    /// <param name="outputOption">The option that gave it, e.g. <c>--output</c>.</param>
    /// <param name="input">The path the command reads.</param>
    /// <param name="inputOption">The option that gave it, e.g. <c>--checkpoint</c>.</param>
    /// <exception cref="ArgumentException">The output path cannot be used; nothing has been read or written.</exception>
    public static void Check(string output, string outputOption, string input, string inputOption)
    {
        if (Directory.Exists(output))
            throw new ArgumentException($"{outputOption} {output} is a directory; expected a file path to write");
        // Said here, before the model is loaded, in the option's words: the write itself would fail only at the end, with
        // .NET's "Could not find a part of the path", which names neither the option nor the missing folder.
        string? parent = Path.GetDirectoryName(Path.GetFullPath(output));
        if (parent is not null && !Directory.Exists(parent))
            throw new ArgumentException(File.Exists(parent)
                ? $"{outputOption} {output}: {parent} is a file, not a directory"
                : $"{outputOption} {output}: the directory {parent} does not exist");
        string resolved = Resolve(output);
        if (string.Equals(resolved, Resolve(input), PathComparison))
            throw new ArgumentException(
                $"{outputOption} {output} is the file {inputOption} reads ({resolved}); writing it would destroy the input. Choose another {outputOption} path");
    }

    /// <summary>The absolute path of <paramref name="path"/> with every symbolic link on the way resolved (components that do not exist are kept as written).</summary>
    /// <exception cref="IOException">More than 40 links on the way (a loop).</exception>
    internal static string Resolve(string path)
    {
        int hops = 0;
        return Resolve(Path.Combine(Environment.CurrentDirectory, path), ref hops);
    }

    private static string Resolve(string absolute, ref int hops)
    {
        string root = Path.GetPathRoot(absolute)!;
        string current = root;
        foreach (string part in absolute[root.Length..].Split([Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar], StringSplitOptions.RemoveEmptyEntries))
        {
            if (part == ".") continue;
            if (part == "..")
            {
                // The parent of what the previous components resolved to, as the kernel walks it.
                current = Path.GetDirectoryName(current) ?? current;
                continue;
            }
            string next = Path.Combine(current, part);
            if (new FileInfo(next).LinkTarget is string target)
            {
                if (++hops > MaxLinkHops) throw new IOException($"{absolute}: more than {MaxLinkHops} symbolic links on the way (a loop?)");
                // A relative target is relative to the link's directory; an absolute one replaces it (Path.Combine keeps it).
                next = Resolve(Path.Combine(current, target), ref hops);
            }
            current = next;
        }
        return current;
    }
}
