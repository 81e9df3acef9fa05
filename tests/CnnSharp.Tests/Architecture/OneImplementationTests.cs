using System.Text.RegularExpressions;

namespace CnnSharp.Tests.Architecture;

/// <summary>
/// Issue 8's rule "one implementation each of BN folding, running statistics and log-sum-exp": the formulas that used to
/// exist in several copies (and had started to disagree) each have one home, and a copy anywhere else in src/ fails
/// here. Checked on the source, since the code inside method bodies is invisible to reflection. Each rule also requires
/// its home to still match, so a pattern that stops matching anything cannot pass silently.
/// </summary>
public sealed partial class OneImplementationTests
{
    public static TheoryData<string> Rules => [.. s_rules.Keys];

    // The formula, and the files (relative to src/, '/'-separated) allowed to contain it; the first is its home.
    private static readonly Dictionary<string, (Regex Pattern, string[] Allowed)> s_rules = new()
    {
        // 1/√(var + ε): BatchNormKernels.InvStd; BN folding's γ/√(var + ε) (so a second fold, which needs that scale, is
        // caught here too); LayerNorm's rows are another normalisation.
        ["batch-norm inverse std"] = (InvStdPattern(), ["CnnSharp/Kernels/BatchNormKernels.cs", "CnnSharp/Kernels/BatchNormFolding.cs", "CnnSharp/Kernels/RowNormKernels.cs"]),
        // (1 − momentum)·running + momentum·batch: BatchNormKernels.UpdateRunningStatistics; ONNX's BatchNormalization
        // defines its own, opposite momentum convention for its optional training outputs.
        ["running statistics"] = (RunningStatsPattern(), ["CnnSharp/Kernels/BatchNormKernels.cs", "CnnSharp.Onnx/Ops/NormalizationOps.cs"]),
        // max + ln Σ e^(x − max): CrossEntropyKernels.RowLoss; ONNX's ReduceLogSumExp (any axes, in double) is its own op.
        ["log-sum-exp"] = (LogSumExpPattern(), ["CnnSharp/Kernels/CrossEntropyKernels.cs", "CnnSharp.Onnx/Ops/ReduceOps.cs"]),
    };

    [Theory]
    [MemberData(nameof(Rules))]
    public void Formula_lives_in_one_place(string rule)
    {
        var (pattern, allowed) = s_rules[rule];
        string src = SourceRoot();
        var hits = Directory.GetFiles(src, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .SelectMany(f => File.ReadLines(f).Select((line, i) => (File: Path.GetRelativePath(src, f).Replace('\\', '/'), Line: i + 1, Text: line)))
            .Where(h => !h.Text.TrimStart().StartsWith("//", StringComparison.Ordinal) && pattern.IsMatch(h.Text))
            .ToList();
        var copies = hits.Where(h => !allowed.Contains(h.File)).Select(h => $"{h.File}:{h.Line}: {h.Text.Trim()}").ToList();
        Assert.True(copies.Count == 0, $"{rule}: a copy outside {allowed[0]}:\n" + string.Join("\n", copies));
        Assert.Contains(hits, h => h.File == allowed[0]);
    }

    [Fact]
    public void The_rules_catch_a_copy()
    {
        Assert.Matches(InvStdPattern(), "invStd[c] = (float)(1.0 / Math.Sqrt((double)rv[c] + _spec.Eps));");
        Assert.Matches(InvStdPattern(), "double s = gamma / Math.Sqrt(variance[c] + eps);");
        Assert.Matches(RunningStatsPattern(), "rm[c] = (float)((1.0 - momentum) * rm[c] + momentum * mean);");
        Assert.Matches(RunningStatsPattern(), "running = old * Momentum + batch * (1 - Momentum);");
        Assert.Matches(LogSumExpPattern(), "double lse = max + Math.Log(sum);");
        Assert.Matches(LogSumExpPattern(), "float lse = rowMax + MathF.Log(total);");
        Assert.DoesNotMatch(InvStdPattern(), "double r = Math.Sqrt(-2.0 * Math.Log(u1));");
        Assert.DoesNotMatch(RunningStatsPattern(), "buf = momentum * buf + (1 - dampening) * g;");
    }

    private static string SourceRoot()
    {
        var repo = new DirectoryInfo(AppContext.BaseDirectory);
        while (repo is not null && !File.Exists(Path.Combine(repo.FullName, "CnnSharp.slnx"))) repo = repo.Parent;
        Assert.NotNull(repo);
        return Path.Combine(repo.FullName, "src");
    }

    [GeneratedRegex(@"Math\.Sqrt\([^;]*\b_?(eps|Eps|epsilon|Epsilon)\b")]
    private static partial Regex InvStdPattern();

    [GeneratedRegex(@"\(\s*1(\.0)?f?\s*-\s*_?[mM]omentum\s*\)")]
    private static partial Regex RunningStatsPattern();

    [GeneratedRegex(@"\b\w*[mM]ax\w*(\[[^\]]*\])?\)?\s*\+\s*Math[F]?\.Log\(")]
    private static partial Regex LogSumExpPattern();
}
