using System.Security.Cryptography;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Onnx;

/// <summary>
/// The vendored conformance suite (<c>tests/conformance</c>) holds exactly the files of its <c>SHA256SUMS</c>, byte for
/// byte (a checkout that converted line endings or left Git LFS pointers fails here, not as a puzzling case failure),
/// and, where the full suite is beside the repository, the vendored files are the full suite's.
/// </summary>
public sealed class VendoredConformanceTests
{
    /// <summary>Files of the vendored folder that are documentation, not test data (not in <c>SHA256SUMS</c>).</summary>
    private static readonly string[] s_documents = ["README.md", "SHA256SUMS", "onnx/LICENSE"];

    /// <summary>The case generated in this repository (<c>tests/reference/generate_conformance_models.py</c>), absent from the full suite.</summary>
    private const string GeneratedHere = "pytorch-models/resnet18_narrow/";

    /// <summary>One row for the vendored copy, and one for the full suite where it is present.</summary>
    public static TheoryData<string> Copies()
    {
        var data = new TheoryData<string> { "vendored" };
        if (ConformanceData.Full is not null) data.Add("full");
        return data;
    }

    [Theory]
    [MemberData(nameof(Copies))]
    public void Files_match_the_vendored_checksums(string copy)
    {
        var sums = ReadSums();
        Assert.True(sums.Count > 1000, $"SHA256SUMS lists {sums.Count} files; the vendored suite has over 1000");
        string root = copy == "vendored" ? ConformanceData.Root : ConformanceData.Full!;
        var expected = copy == "vendored" ? sums.Keys.ToList() : sums.Keys.Where(k => !k.StartsWith(GeneratedHere, StringComparison.Ordinal)).ToList();
        if (copy == "vendored")
        {
            // Nothing unlisted: every vendored file is test data under SHA256SUMS or one of the documents.
            var present = Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
                .Select(f => Path.GetRelativePath(root, f).Replace('\\', '/')).Except(s_documents).Order(StringComparer.Ordinal);
            Assert.Equal(expected.Order(StringComparer.Ordinal), present);
        }
        var mismatched = expected.Where(k => !File.Exists(Path.Combine(root, k)) || Sha256(Path.Combine(root, k)) != sums[k]).ToList();
        Assert.True(mismatched.Count == 0, $"{mismatched.Count} files of {root} are missing or differ from tests/conformance/SHA256SUMS, e.g. {string.Join(", ", mismatched.Take(5))}");
    }

    /// <summary>Relative path to lower-case hex SHA-256, from lines <c>HEX  PATH</c> (the format of <c>sha256sum</c>).</summary>
    private static Dictionary<string, string> ReadSums()
    {
        var sums = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string line in File.ReadLines(Path.Combine(ConformanceData.Root, "SHA256SUMS")))
        {
            int space = line.IndexOf("  ", StringComparison.Ordinal);
            Assert.True(space == 64, $"SHA256SUMS line '{line}' is not 'HEX  PATH'");
            sums.Add(line[(space + 2)..], line[..space]);
        }
        return sums;
    }

    private static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
