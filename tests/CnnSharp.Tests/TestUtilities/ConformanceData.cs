namespace CnnSharp.Tests.TestUtilities;

/// <summary>
/// Locates the conformance suite. The vendored copy, <c>tests/conformance</c> in the repository, is always there and
/// holds every case but <c>pytorch-models/resnet18</c> (45 MB, kept out of the repository; its operator path is covered
/// by the vendored <c>pytorch-models/resnet18_narrow</c>). The full suite, when present (the folder named by
/// <c>CNNSHARP_CONFORMANCE</c>, or <c>shared/conformance</c> beside the repository or in a folder above it, as on CI),
/// adds the cases the vendored copy lacks.
/// </summary>
/// <remarks>
/// Nothing is skipped: a case that exists only in the full suite is simply not listed on a plain clone (theory rows are
/// built from the case folders present), and a missing vendored copy, or a <c>CNNSHARP_CONFORMANCE</c> that names no
/// folder, fails every test that reads the suite with the path it looked for.
/// </remarks>
internal static class ConformanceData
{
    /// <summary>The suites, as folders under a conformance root, whose sub-folders with a <c>model.onnx</c> are cases.</summary>
    public static readonly string[] Suites = ["onnx/node", "onnx/pytorch-converted", "onnx/pytorch-operator", "pytorch-models"];

    private static readonly Lazy<(string Vendored, string? Full)> s_roots = new(FindRoots);

    /// <summary>The vendored copy (<c>tests/conformance</c>); throws, naming the path, when it is missing.</summary>
    public static string Root => s_roots.Value.Vendored;

    /// <summary>The full suite outside the repository, or null when there is none.</summary>
    public static string? Full => s_roots.Value.Full;

    /// <summary>
    /// Path of a file or folder of the suite: in the vendored copy when it is there, else in the full suite. Throws
    /// <see cref="FileNotFoundException"/> naming where it looked when neither has it.
    /// </summary>
    public static string PathOf(params string[] parts)
    {
        foreach (string? root in new[] { Root, Full })
        {
            if (root is null) continue;
            string path = Path.Combine([root, .. parts]);
            if (File.Exists(path) || Directory.Exists(path)) return path;
        }
        throw new FileNotFoundException($"conformance file {string.Join('/', parts)} is neither in {Root} nor in {Full ?? "a full suite (none found)"}");
    }

    /// <summary>
    /// Every case, e.g. <c>onnx/node/test_abs</c>, sorted: the vendored ones and those only the full suite has.
    /// </summary>
    public static List<string> Cases()
    {
        var names = new SortedSet<string>(StringComparer.Ordinal);
        foreach (string? root in new[] { Root, Full })
        {
            if (root is null) continue;
            foreach (string suite in Suites)
            {
                string folder = Path.Combine(root, suite);
                if (!Directory.Exists(folder)) continue;
                foreach (string dir in Directory.EnumerateDirectories(folder))
                    if (File.Exists(Path.Combine(dir, "model.onnx"))) names.Add(suite + "/" + Path.GetFileName(dir));
            }
        }
        return [.. names];
    }

    /// <summary>Theory rows for those of <paramref name="models"/> (names under <c>pytorch-models</c>) that are present.</summary>
    public static TheoryData<string> PresentModels(params string[] models)
    {
        var present = Cases();
        var data = new TheoryData<string>();
        foreach (string m in models.Where(m => present.Contains("pytorch-models/" + m))) data.Add(m);
        return data;
    }

    private static (string, string?) FindRoots()
    {
        var repo = new DirectoryInfo(AppContext.BaseDirectory);
        while (repo is not null && !File.Exists(Path.Combine(repo.FullName, "CnnSharp.slnx"))) repo = repo.Parent;
        if (repo is null) throw new DirectoryNotFoundException($"no CnnSharp.slnx in {AppContext.BaseDirectory} or a folder above it");
        string vendored = Path.Combine(repo.FullName, "tests", "conformance");
        if (!Directory.Exists(vendored)) throw new DirectoryNotFoundException($"the vendored conformance suite {vendored} is missing");

        string? env = Environment.GetEnvironmentVariable("CNNSHARP_CONFORMANCE");
        if (!string.IsNullOrEmpty(env))
            return Directory.Exists(env) ? (vendored, env) : throw new DirectoryNotFoundException($"CNNSHARP_CONFORMANCE names {env}, which is not a folder");
        // shared/ sits beside the repository (CI, the main checkout) or a level higher (git worktrees in a subfolder).
        for (var up = repo.Parent; up is not null; up = up.Parent)
        {
            string candidate = Path.Combine(up.FullName, "shared", "conformance");
            if (Directory.Exists(candidate)) return (vendored, candidate);
        }
        return (vendored, null);
    }
}
