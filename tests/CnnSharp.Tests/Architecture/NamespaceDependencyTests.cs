using System.Text.RegularExpressions;

namespace CnnSharp.Tests.Architecture;

/// <summary>
/// The layering of the library as an allow-list: each folder (namespace <c>CnnSharp.X</c>) may use only the folders
/// listed for it; a folder is src/CnnSharp/X, or a sibling assembly src/CnnSharp.X (Onnx, Data; Data has both: the
/// data-set abstractions in core, the data sets and transforms in CnnSharp.Data). A new dependency fails here until it is added on purpose, with its reason. Checked on the source
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
        string src = Path.Combine(RepositoryRoot(), "src");
        string root = Path.Combine(src, "CnnSharp");
        var folders = Directory.GetDirectories(root).Select(Path.GetFileName).Where(n => n is not ("bin" or "obj")).Cast<string>()
            .Concat(s_siblings).ToHashSet();
        Assert.True(folders.SetEquals(s_allowed.Keys), "folders without an allow-list entry (or entries without a folder): "
            + string.Join(", ", folders.Except(s_allowed.Keys).Concat(s_allowed.Keys.Except(folders))));
        // Short references only for folder names that are never also member names (Data and IO are properties elsewhere).
        var shortNames = folders.Where(f => f is not ("Data" or "IO")).ToArray();
        var shortForm = new Regex(@"(?<![\w.])(" + string.Join("|", shortNames) + @")\.[A-Z]", RegexOptions.Compiled);
        var offenders = new List<string>();
        foreach (var folder in folders)
        {
            var places = new[] { Path.Combine(root, folder), Path.Combine(src, "CnnSharp." + folder) }.Where(Directory.Exists);
            foreach (var file in places.SelectMany(p => Directory.GetFiles(p, "*.cs", SearchOption.AllDirectories)))
            {
                if (file.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)) continue;
                string code = LineComment().Replace(File.ReadAllText(file), "");
                var used = Qualified().Matches(code).Select(m => m.Groups[1].Value)
                    .Concat(shortForm.Matches(code).Select(m => m.Groups[1].Value))
                    .Where(u => folders.Contains(u) && u != folder && !s_allowed[folder].Contains(u)).Distinct();
                offenders.AddRange(used.Select(u => $"{Path.GetRelativePath(src, file)} uses {u}"));
            }
        }
        Assert.True(offenders.Count == 0, "dependencies outside the allow-list: " + string.Join("; ", offenders));
    }

    // The library's sibling assemblies (src/CnnSharp.X, namespace CnnSharp.X and below).
    private static readonly string[] s_siblings = ["Onnx", "Data"];

    // What each library assembly may reference besides the BCL: the core stays free of protobuf and image/archive
    // decoders, so a user who only trains pays for none of them (docs/architecture.md, "Assemblies").
    private static readonly Dictionary<string, string[]> s_allowedAssemblies = new()
    {
        ["CnnSharp"] = [],
        ["CnnSharp.Onnx"] = ["CnnSharp", "Google.Protobuf"],
        ["CnnSharp.Data"] = ["CnnSharp", "StbImageSharp", "SharpCompress"],
    };

    [Theory]
    [InlineData(typeof(Tensor))]
    [InlineData(typeof(CnnSharp.Onnx.OnnxModel))]
    [InlineData(typeof(CnnSharp.Data.Mnist))]
    public void Every_assembly_references_only_the_assemblies_it_is_allowed_to(Type representative)
    {
        var assembly = representative.Assembly;
        string name = assembly.GetName().Name!;
        Assert.True(s_allowedAssemblies.ContainsKey(name), $"no assembly allow-list entry for {name}");
        var outside = OutsideAllowList(assembly.GetReferencedAssemblies().Select(a => a.Name!), s_allowedAssemblies[name]);
        Assert.True(outside.Count == 0, $"{name} references {string.Join(", ", outside)}");
    }

    [Fact]
    public void The_assembly_check_sees_a_forbidden_reference()
    {
        string[] references = ["System.Runtime", "System.Numerics.Tensors", "netstandard", "Google.Protobuf", "CnnSharp.Data"];
        Assert.Equal(["Google.Protobuf", "CnnSharp.Data"], OutsideAllowList(references, s_allowedAssemblies["CnnSharp"]));
        Assert.Empty(OutsideAllowList(references[..4], s_allowedAssemblies["CnnSharp.Onnx"]));
    }

    [Fact]
    public void The_core_project_has_no_package_reference_but_the_BCL_extension()
    {
        // The assembly check sees only references the compiled code uses; the project file is what a package depends on.
        string project = File.ReadAllText(Path.Combine(RepositoryRoot(), "src", "CnnSharp", "CnnSharp.csproj"));
        var packages = PackageReference().Matches(project).Select(m => m.Groups[1].Value);
        Assert.Equal(["System.Numerics.Tensors"], packages);
    }

    // BCL assemblies (System.*, netstandard, Microsoft.Win32.*) are always allowed; anything else must be listed.
    private static List<string> OutsideAllowList(IEnumerable<string> references, string[] allowed) =>
        references.Where(r => !(r == "System" || r.StartsWith("System.", StringComparison.Ordinal) || r == "netstandard" || r == "mscorlib"
            || r.StartsWith("Microsoft.Win32.", StringComparison.Ordinal) || allowed.Contains(r))).ToList();

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

    [GeneratedRegex(@"<PackageReference\s+Include=""([^""]+)""")]
    private static partial Regex PackageReference();
}
