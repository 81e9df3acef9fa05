using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace CnnSharp.Tests.Architecture;

/// <summary>
/// Every analyzer suppression carries its reason where it is made: a NoWarn in an MSBuild file has a comment right above
/// it naming each rule, a <c>severity = none</c> in an .editorconfig has a comment line right above it naming the rule,
/// and a <c>SuppressMessage</c> in the sources has a Justification. A suppression added without one fails here.
/// </summary>
public sealed partial class SuppressionTests
{
    [Fact]
    public void Every_NoWarn_in_the_build_files_is_justified_by_the_comment_above_it()
    {
        string root = NamespaceDependencyTests.RepositoryRoot();
        var files = new[] { "src", "tests", "bench", "fuzz" }
            .Select(d => Path.Combine(root, d)).Where(Directory.Exists)
            .SelectMany(d => Directory.GetFiles(d, "*.csproj", SearchOption.AllDirectories))
            .Prepend(Path.Combine(root, "Directory.Build.props"))
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .ToList();
        Assert.Contains(files, f => f.EndsWith("Directory.Build.props", StringComparison.Ordinal));
        AssertAllJustified(root, files, UnjustifiedNoWarns, "NoWarn without a justification comment right above it");
    }

    [Fact]
    public void Every_rule_switched_off_in_an_editorconfig_is_justified_by_the_comment_above_it()
    {
        string root = NamespaceDependencyTests.RepositoryRoot();
        var files = new[] { Path.Combine(root, ".editorconfig"), Path.Combine(root, "tests", ".editorconfig") }
            .Where(File.Exists).ToList();
        Assert.Equal(2, files.Count);
        AssertAllJustified(root, files, UnjustifiedEditorConfigRules, "severity = none without a comment naming the rule right above it");
    }

    [Fact]
    public void Every_SuppressMessage_in_the_sources_has_a_justification()
    {
        string root = NamespaceDependencyTests.RepositoryRoot();
        var offenders = new List<string>();
        foreach (string f in Directory.GetFiles(Path.Combine(root, "src"), "*.cs", SearchOption.AllDirectories))
        {
            foreach (Match m in SuppressMessageAttribute().Matches(File.ReadAllText(f)))
                if (!JustificationText().IsMatch(m.Value)) offenders.Add($"{Path.GetRelativePath(root, f)}: {m.Value[..Math.Min(80, m.Value.Length)]}");
        }
        Assert.True(offenders.Count == 0, "SuppressMessage without a Justification: " + string.Join(", ", offenders));
    }

    [Fact]
    public void The_checks_see_a_suppression_without_a_reason()
    {
        const string props = """
            <Project>
              <PropertyGroup>
                <!-- CA1720: the dtype enums name element types exactly as the file formats do. -->
                <NoWarn>$(NoWarn);CA1720</NoWarn>
                <NoWarn>$(NoWarn);CA1822</NoWarn>
                <!-- CA1000: static members on generic types are the factory pattern here. -->
                <NoWarn>$(NoWarn);CA1000;CA1859</NoWarn>
                <!-- CA1001 -->
                <NoWarn>$(NoWarn);CA1001</NoWarn>
              </PropertyGroup>
            </Project>
            """;
        Assert.Equal(["CA1822", "CA1859", "CA1001"], UnjustifiedNoWarns(props));

        const string editorConfig = """
            [*.cs]
            # CA1707: test names read as sentences.
            dotnet_diagnostic.CA1707.severity = none
            dotnet_diagnostic.CA1861.severity = none
            # about something else entirely
            dotnet_diagnostic.CA1716.severity = none
            dotnet_diagnostic.IDE0036.severity = warning
            """;
        Assert.Equal(["CA1861", "CA1716"], UnjustifiedEditorConfigRules(editorConfig));

        const string source = """
            [assembly: SuppressMessage("Naming", "CA1716", Target = "~T:A", Justification = "PyTorch's name for it.")]
            [assembly: SuppressMessage("Naming", "CA1707", Target = "~M:A.B_")]
            """;
        var matches = SuppressMessageAttribute().Matches(source).Select(m => JustificationText().IsMatch(m.Value)).ToList();
        Assert.Equal([true, false], matches);
    }

    private static void AssertAllJustified(string root, List<string> files, Func<string, List<string>> unjustified, string what)
    {
        var offenders = files.SelectMany(f => unjustified(File.ReadAllText(f)).Select(rule => $"{Path.GetRelativePath(root, f)}: {rule}")).ToList();
        Assert.True(offenders.Count == 0, what + ": " + string.Join(", ", offenders));
    }

    /// <summary>
    /// The rules each NoWarn element adds that the comment right above it does not explain: the comment must name the rule
    /// followed by a colon and say something (a bare list of rule ids is not a reason).
    /// </summary>
    private static List<string> UnjustifiedNoWarns(string msbuildXml)
    {
        var offenders = new List<string>();
        foreach (var noWarn in XDocument.Parse(msbuildXml).Descendants().Where(e => e.Name.LocalName == "NoWarn"))
        {
            string comment = noWarn.PreviousNode is XComment c ? c.Value : "";
            string reason = RuleId().Replace(comment, "").Trim(' ', ':', '/', '\n', '\r', '\t', '.', ',', ';');
            foreach (string rule in noWarn.Value.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (rule == "$(NoWarn)") continue;
                if (!comment.Contains(rule + ":", StringComparison.Ordinal) || reason.Length < 20) offenders.Add(rule);
            }
        }
        return offenders;
    }

    /// <summary>The rules set to <c>severity = none</c> whose line is not right below a comment naming the rule.</summary>
    private static List<string> UnjustifiedEditorConfigRules(string editorConfig)
    {
        var offenders = new List<string>();
        string previous = "";
        foreach (string raw in editorConfig.Split('\n'))
        {
            string line = raw.Trim();
            var off = SwitchedOff().Match(line);
            if (off.Success)
            {
                string rule = off.Groups[1].Value;
                bool justified = (previous.StartsWith('#') || previous.StartsWith(';'))
                    && previous.Contains(rule + ":", StringComparison.Ordinal);
                if (!justified) offenders.Add(rule);
            }
            if (line.Length > 0) previous = line;
        }
        return offenders;
    }

    [GeneratedRegex(@"\b(?:CA|IDE|CS)\d{4}\b")]
    private static partial Regex RuleId();

    [GeneratedRegex(@"^dotnet_diagnostic\.(\w+)\.severity\s*=\s*none\b")]
    private static partial Regex SwitchedOff();

    [GeneratedRegex(@"SuppressMessage(?:Attribute)?\((?:[^()""]|""(?:[^""\\]|\\.)*"")*\)")]
    private static partial Regex SuppressMessageAttribute();

    [GeneratedRegex(@"Justification\s*=\s*""[^""]{10,}""")]
    private static partial Regex JustificationText();
}
