using System.Text.RegularExpressions;

namespace CnnSharp.Tests.Architecture;

/// <summary>
/// The layering of src/CnnSharp as an allow-list: each folder (namespace <c>CnnSharp.X</c>) may use only the folders
/// listed for it. A new dependency fails here until it is added on purpose, with its reason. Checked on the source
/// (<c>using CnnSharp.X</c>, qualified <c>CnnSharp.X.</c> and, inside the library, short <c>X.Type</c> references), since
/// uses inside method bodies are invisible to reflection.
/// </summary>
public sealed partial class NamespaceDependencyTests
{
    // The layers, bottom up: Kernels (spans only) <- Autograd <- Functional <- Modules <- Compile <- Models/Optimizers/IO
    // <- Onnx/Data <- Training. The root namespace (Tensor, Shape, Generator, ExecutionOptions) is everyone's base.
    private static readonly Dictionary<string, string[]> s_allowed = new()
    {
        ["Kernels"] = [],
        ["Signal"] = [],
        ["Autograd"] = ["Kernels"],
        // Functional describes each op to the tracer (Compile.Tracer.Describe): the capture hook of Module.Compile.
        ["Functional"] = ["Autograd", "Kernels", "Compile"],
        ["Losses"] = ["Functional"],
        // Module.Compile is the entry point of the compiled executor.
        ["Modules"] = ["Autograd", "Functional", "Compile"],
        ["Compile"] = ["Autograd", "Functional", "Kernels", "Modules"],
        ["Optimizers"] = ["Modules"],
        ["IO"] = ["Modules", "Optimizers"],
        // The ONNX exporter traces any module, so Models need not describe themselves to Onnx (no upward edge).
        ["Models"] = ["Functional", "Modules"],
        // The ONNX runtime's element-wise operators broadcast with Functional's one broadcaster (Broadcast, BroadcastRows).
        ["Onnx"] = ["Autograd", "Compile", "Functional", "IO", "Kernels", "Modules"],
        ["Data"] = ["IO"],
        ["Training"] = ["Autograd", "Compile", "Data", "Functional", "IO", "Kernels", "Models", "Modules", "Optimizers"],
    };

    [Fact]
    public void Every_folder_uses_only_the_folders_it_is_allowed_to()
    {
        string root = Path.Combine(RepositoryRoot(), "src", "CnnSharp");
        var folders = Directory.GetDirectories(root).Select(Path.GetFileName).Where(n => n is not ("bin" or "obj")).Cast<string>().ToHashSet();
        Assert.True(folders.SetEquals(s_allowed.Keys), "folders without an allow-list entry (or entries without a folder): "
            + string.Join(", ", folders.Except(s_allowed.Keys).Concat(s_allowed.Keys.Except(folders))));
        // Short references only for folder names that are never also member names (Data and IO are properties elsewhere).
        var shortNames = folders.Where(f => f is not ("Data" or "IO")).ToArray();
        var shortForm = new Regex(@"(?<![\w.])(" + string.Join("|", shortNames) + @")\.[A-Z]", RegexOptions.Compiled);
        var offenders = new List<string>();
        foreach (var folder in folders)
        {
            foreach (var file in Directory.GetFiles(Path.Combine(root, folder), "*.cs", SearchOption.AllDirectories))
            {
                if (file.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)) continue;
                string code = LineComment().Replace(File.ReadAllText(file), "");
                var used = Qualified().Matches(code).Select(m => m.Groups[1].Value)
                    .Concat(shortForm.Matches(code).Select(m => m.Groups[1].Value))
                    .Where(u => folders.Contains(u) && u != folder && !s_allowed[folder].Contains(u)).Distinct();
                offenders.AddRange(used.Select(u => $"{Path.GetRelativePath(root, file)} uses {u}"));
            }
        }
        Assert.True(offenders.Count == 0, "dependencies outside the allow-list: " + string.Join("; ", offenders));
    }

    [Fact]
    public void The_check_sees_a_forbidden_reference()
    {
        // The patterns the check relies on, on a sample: a kernel file that reached up into Modules would be caught.
        const string sample = "using CnnSharp.Modules;\nvar x = Compile.Tracer.Current; // CnnSharp.Training in a comment\n";
        string code = LineComment().Replace(sample, "");
        Assert.Equal(["Modules"], Qualified().Matches(code).Select(m => m.Groups[1].Value));
        Assert.Matches(@"(?<![\w.])(Compile)\.[A-Z]", code);
        Assert.DoesNotContain("Training", code, StringComparison.Ordinal);
    }

    internal static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "CnnSharp.slnx"))) dir = dir.Parent;
        Assert.NotNull(dir);
        return dir.FullName;
    }

    [GeneratedRegex(@"//.*")]
    private static partial Regex LineComment();

    [GeneratedRegex(@"CnnSharp\.(\w+)")]
    private static partial Regex Qualified();
}
