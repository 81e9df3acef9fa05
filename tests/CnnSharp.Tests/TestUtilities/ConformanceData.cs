namespace CnnSharp.Tests.TestUtilities;

/// <summary>
/// Locates the shared conformance suite (<c>../shared/conformance</c> beside the repository, or the folder named by the
/// <c>CNNSHARP_CONFORMANCE</c> environment variable). Tests that need it use <see cref="ConformanceFactAttribute"/>,
/// which reports them as skipped, with the reason, when the folder is absent.
/// </summary>
internal static class ConformanceData
{
    private static readonly Lazy<string?> s_root = new(FindRoot);

    /// <summary>The conformance folder, or null when it cannot be found.</summary>
    public static string? Root => s_root.Value;

    /// <summary>Path of a file or folder under the conformance root.</summary>
    public static string PathOf(params string[] parts) =>
        Path.Combine([Root ?? throw new InvalidOperationException(SkipReason), .. parts]);

    public const string SkipReason = "conformance folder absent: expected shared/conformance beside the repository (or in a folder above it) or CNNSHARP_CONFORMANCE";

    private static string? FindRoot()
    {
        string? env = Environment.GetEnvironmentVariable("CNNSHARP_CONFORMANCE");
        if (!string.IsNullOrEmpty(env)) return Directory.Exists(env) ? env : null;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (!File.Exists(Path.Combine(dir.FullName, "CnnSharp.slnx"))) continue;
            // shared/ sits beside the repository (CI, the main checkout) or a level higher (git worktrees in a subfolder).
            for (var up = dir.Parent; up is not null; up = up.Parent)
            {
                string candidate = Path.Combine(up.FullName, "shared", "conformance");
                if (Directory.Exists(candidate)) return candidate;
            }
            return null;
        }
        return null;
    }
}

/// <summary>A fact that is skipped, visibly and with the reason, when the conformance folder is absent.</summary>
internal sealed class ConformanceFactAttribute : FactAttribute
{
    public ConformanceFactAttribute()
    {
        if (ConformanceData.Root is null) Skip = ConformanceData.SkipReason;
    }
}
