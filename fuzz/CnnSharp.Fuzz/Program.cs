using System.Globalization;

namespace CnnSharp.Fuzz;

/// <summary>
/// <c>dotnet run -c Release --project fuzz/CnnSharp.Fuzz -- --target all --seconds 3600</c>: mutation-fuzzes CnnSharp's
/// loaders and the CLI's option parsing (see docs/reliability.md). Exit code 0: no finding; 1: findings (saved under
/// <c>--findings</c>); 2: bad usage.
/// </summary>
internal static class Program
{
    private const string Usage = """
        usage: CnnSharp.Fuzz [--target all|NAME[,NAME...]] [--seconds N] [--iterations N] [--timeout-ms N]
                             [--max-alloc-mb N] [--max-input N] [--seed N] [--corpus DIR] [--findings DIR] [--corpus-out DIR]
               CnnSharp.Fuzz --repro FILE --target NAME      run one file and print what it did
               CnnSharp.Fuzz --make-seeds DIR                write the seed corpus
        targets: safetensors, pt, onnx, idx, png, jpeg, cli
        --seconds is per target (default 60); --timeout-ms per input (default 2000); --max-alloc-mb per input (default 512).
        """;

    public static int Main(string[] args)
    {
        try
        {
            return Run(ParseOptions(args));
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"error: {e.Message}\n{Usage}");
            return 2;
        }
    }

    private static int Run(Dictionary<string, string> options)
    {
        if (options.ContainsKey("help"))
        {
            Console.WriteLine(Usage);
            return 0;
        }
        string root = RepositoryRoot();
        if (options.TryGetValue("make-seeds", out string? seedsDir))
        {
            SeedWriter.Write(seedsDir, root);
            Console.WriteLine($"seed corpus written to {seedsDir}");
            return 0;
        }

        string targetList = options.GetValueOrDefault("target", "all");
        var targets = targetList == "all"
            ? FuzzTarget.All
            : targetList.Split(',').Select(n => FuzzTarget.All.FirstOrDefault(t => t.Name == n) ?? throw new ArgumentException($"unknown target '{n}'")).ToList();
        if (options.TryGetValue("repro", out string? file))
            return targets.Count == 1 ? Repro(targets[0], file) : throw new ArgumentException("--repro needs one --target");

        int seed = options.TryGetValue("seed", out string? s) ? Int("seed", s) : Environment.TickCount & int.MaxValue;
        var settings = new FuzzSettings(
            TimeSpan.FromSeconds(options.TryGetValue("seconds", out string? sec) ? Int("seconds", sec) : 60),
            options.TryGetValue("iterations", out string? it) ? Int("iterations", it) : null,
            TimeSpan.FromMilliseconds(options.TryGetValue("timeout-ms", out string? t) ? Int("timeout-ms", t) : 2000),
            (options.TryGetValue("max-alloc-mb", out string? m) ? Int("max-alloc-mb", m) : 512) * (1L << 20),
            options.TryGetValue("max-input", out string? mi) ? Int("max-input", mi) : 1 << 18,
            seed,
            options.GetValueOrDefault("corpus", Path.Combine(root, "fuzz", "corpus")),
            options.GetValueOrDefault("findings", Path.Combine(root, "fuzz", "findings")),
            options.GetValueOrDefault("corpus-out"));

        Console.WriteLine($"fuzzing {string.Join(", ", targets.Select(x => x.Name))}: {settings.Duration.TotalSeconds:0} s each, seed {seed}, " +
                          $"timeout {settings.Timeout.TotalMilliseconds:0} ms, allocation limit {settings.MaxAllocatedBytes >> 20} MiB per input");
        var reports = new List<TargetReport>();
        foreach (var target in targets)
        {
            Console.WriteLine($"== {target.Name}");
            var report = new TargetRun(target, settings).Run();
            reports.Add(report);
            Console.WriteLine($"   {report.Iterations} inputs in {report.Elapsed.TotalSeconds:0.0} s, {report.Outcomes} outcome classes, " +
                              $"corpus {report.CorpusSize}, {report.Findings.Count} findings");
        }

        Console.WriteLine();
        Console.WriteLine("| target | inputs | inputs/s | outcome classes | corpus | findings |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|");
        foreach (var r in reports)
        {
            string findings = r.Findings.Count == 0
                ? "0"
                : $"{r.Findings.Count} ({string.Join(", ", r.Findings.GroupBy(f => f.Kind).Select(g => $"{g.Count()} {g.Key}"))})";
            Console.WriteLine($"| {r.Target} | {r.Iterations} | {r.Iterations / Math.Max(r.Elapsed.TotalSeconds, 1e-3):0} | {r.Outcomes} | {r.CorpusSize} | {findings} |");
        }
        int total = reports.Sum(r => r.Findings.Count);
        Console.WriteLine(total == 0 ? "no findings" : $"{total} findings, saved under {settings.FindingsDirectory}");
        return total == 0 ? 0 : 1;
    }

    private static int Repro(FuzzTarget target, string file)
    {
        byte[] input = File.ReadAllBytes(file);
        try
        {
            Console.WriteLine($"ok: {target.Execute(input)}");
            return 0;
        }
#pragma warning disable CA1031 // the point is to show whatever happens
        catch (Exception e)
#pragma warning restore CA1031
        {
            Console.WriteLine($"{(target.IsExpected(e) ? "documented error" : "FINDING")}: {e}");
            return target.IsExpected(e) ? 0 : 1;
        }
    }

    private static Dictionary<string, string> ParseOptions(string[] args)
    {
        var known = new HashSet<string> { "target", "seconds", "iterations", "timeout-ms", "max-alloc-mb", "max-input", "seed", "corpus", "findings", "corpus-out", "repro", "make-seeds" };
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] is "--help" or "-h")
            {
                options["help"] = "";
                continue;
            }
            string name = args[i].StartsWith("--", StringComparison.Ordinal) ? args[i][2..] : throw new ArgumentException($"unexpected argument '{args[i]}'");
            if (!known.Contains(name)) throw new ArgumentException($"unknown option '{args[i]}'");
            if (i + 1 >= args.Length) throw new ArgumentException($"option '{args[i]}' needs a value");
            options[name] = args[++i];
        }
        return options;
    }

    private static int Int(string name, string value) =>
        int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) && v > 0
            ? v
            : throw new ArgumentException($"--{name} must be a positive integer, got '{value}'");

    /// <summary>The folder holding CnnSharp.slnx, searched upward from the working directory and then from the binary.</summary>
    private static string RepositoryRoot()
    {
        foreach (string start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "CnnSharp.slnx"))) return dir.FullName;
        }
        return Directory.GetCurrentDirectory();
    }
}
