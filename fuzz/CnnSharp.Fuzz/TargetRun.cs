using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace CnnSharp.Fuzz;

/// <summary>Settings of one fuzzing session.</summary>
internal sealed record FuzzSettings(TimeSpan Duration, long? Iterations, TimeSpan Timeout, long MaxAllocatedBytes, int MaxInputLength,
    int Seed, string CorpusDirectory, string FindingsDirectory, string? CorpusOutDirectory);

/// <summary>The result of fuzzing one target.</summary>
internal sealed record TargetReport(string Target, long Iterations, int CorpusSize, int Outcomes, IReadOnlyList<Finding> Findings, TimeSpan Elapsed);

/// <summary>
/// Fuzzes one target: runs the seeds, then mutates corpus entries until the time or iteration budget is spent. An input
/// whose outcome class is new (a new exception type, message shape or throwing method, or a new success description) joins
/// the corpus, at most 64 per throwing method: a cheap stand-in for coverage feedback. Findings are deduplicated by
/// signature and saved as they occur.
/// </summary>
internal sealed partial class TargetRun(FuzzTarget target, FuzzSettings settings)
{
    private const int MaxCorpus = 4096;
    private const int MaxPerSite = 64;

    private readonly List<byte[]> _corpus = [];
    private readonly HashSet<string> _outcomes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _perSite = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Finding> _findings = new(StringComparer.Ordinal);

    public TargetReport Run()
    {
        var clock = Stopwatch.StartNew();
        var random = new Random(settings.Seed);
        var mutator = new Mutator(random, target, settings.MaxInputLength);
        using var watchdog = new Watchdog(target.Name);
        long iterations = 0;

        var seeds = Seeds();
        if (seeds.Count == 0) throw new InvalidOperationException($"no seed files in {Path.Combine(settings.CorpusDirectory, target.Name)}");
        foreach (var seed in seeds)
        {
            iterations++;
            if (!Try(watchdog, seed, keep: true)) return Report(iterations, clock);
        }
        while (clock.Elapsed < settings.Duration && (settings.Iterations is not long max || iterations < max))
        {
            var parent = _corpus[random.Next(_corpus.Count)];
            var input = mutator.Mutate(parent, _corpus[random.Next(_corpus.Count)]);
            iterations++;
            if (!Try(watchdog, input, keep: false)) break;
        }
        return Report(iterations, clock);
    }

    private TargetReport Report(long iterations, Stopwatch clock) =>
        new(target.Name, iterations, _corpus.Count, _outcomes.Count, [.. _findings.Values], clock.Elapsed);

    private List<byte[]> Seeds()
    {
        string folder = Path.Combine(settings.CorpusDirectory, target.Name);
        return Directory.Exists(folder)
            ? Directory.GetFiles(folder).Where(f => !f.EndsWith(".md", StringComparison.Ordinal)).Order(StringComparer.Ordinal).Select(File.ReadAllBytes).ToList()
            : [];
    }

    /// <summary>Runs one input; false when the worker hung (the target cannot go on).</summary>
    private bool Try(Watchdog watchdog, byte[] input, bool keep)
    {
        if (!watchdog.TryRun(() => Execute(input), settings.Timeout, out var outcome))
        {
            Record(new Finding(target.Name, "hang", "hang", $"no result after {settings.Timeout.TotalSeconds:0.#} s; the fuzzer stops this target (a thread cannot be aborted)", input));
            return false;
        }
        string signature, site;
        if (outcome.Error is { } error)
        {
            site = $"{error.GetType().Name}|{error.TargetSite?.DeclaringType?.Name}.{error.TargetSite?.Name}";
            signature = $"{site}|{Normalize(error.Message)}";
            if (!target.IsExpected(error))
                Record(new Finding(target.Name, "exception", $"{error.GetType().FullName} {TopFrame(error)}", error.ToString(), input));
        }
        else
        {
            // Success descriptions are few by design: each is its own site.
            site = signature = "ok|" + outcome.Feature;
        }
        if (outcome.AllocatedBytes > settings.MaxAllocatedBytes)
            Record(new Finding(target.Name, "memory", $"memory, {Describe(outcome)}",
                $"{outcome.AllocatedBytes} bytes allocated for a {input.Length}-byte input (limit {settings.MaxAllocatedBytes}); outcome {signature}", input));
        // A message can still carry names the input chose; the cap per throwing site keeps them from filling the corpus.
        bool novel = _outcomes.Add(signature) && CollectionsMarshal.GetValueRefOrAddDefault(_perSite, site, out _)++ < MaxPerSite;
        if ((novel || keep) && _corpus.Count < MaxCorpus)
        {
            _corpus.Add(input);
            if (!keep && settings.CorpusOutDirectory is { } dir)
            {
                string folder = Path.Combine(dir, target.Name);
                Directory.CreateDirectory(folder);
                File.WriteAllBytes(Path.Combine(folder, $"{_corpus.Count:D5}.bin"), input);
            }
        }
        return true;
    }

    private Outcome Execute(byte[] input)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        var clock = Stopwatch.StartNew();
        try
        {
            string feature = target.Execute(input);
            return new Outcome(feature, null, GC.GetAllocatedBytesForCurrentThread() - before, clock.Elapsed);
        }
#pragma warning disable CA1031 // every exception is classified: a typed error of the format, or a finding
        catch (Exception e)
#pragma warning restore CA1031
        {
            return new Outcome(null, e, GC.GetAllocatedBytesForCurrentThread() - before, clock.Elapsed);
        }
    }

    private void Record(Finding finding)
    {
        if (!_findings.TryAdd(finding.Signature, finding)) return;
        string path = finding.Save(settings.FindingsDirectory);
        Console.WriteLine($"  FINDING [{target.Name}] {finding.Kind}: {finding.Signature} -> {path}");
    }

    /// <summary>What an over-allocating input ended in (a finding per distinct ending, not per byte count).</summary>
    private static string Describe(Outcome outcome) => outcome.Error is { } e
        ? $"ended in {e.GetType().Name} from {e.TargetSite?.DeclaringType?.Name}.{e.TargetSite?.Name}"
        : $"succeeded ({outcome.Feature})";

    private static string TopFrame(Exception e)
    {
        string? frame = e.StackTrace?.Split('\n', StringSplitOptions.TrimEntries).FirstOrDefault();
        return frame is null ? "?" : InLineNumber().Replace(frame, "");
    }

    /// <summary>
    /// A message's shape: its first words, without numbers, quoted names or raw JSON, so each distinct check counts once
    /// whatever values the input put in it.
    /// </summary>
    private static string Normalize(string message)
    {
        var words = Quoted().Replace(message, " ").Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Select(w => w.TrimEnd(':', ',', '.', ';'))
            .Where(w => w.Length > 0 && w.All(char.IsAsciiLetter))
            .Take(12);
        return string.Join(' ', words);
    }

    [GeneratedRegex(@"'[^']*'|""[^""]*""")]
    private static partial Regex Quoted();

    [GeneratedRegex(@" in .*:line \d+$")]
    private static partial Regex InLineNumber();
}
