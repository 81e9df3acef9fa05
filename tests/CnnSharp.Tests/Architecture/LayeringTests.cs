using System.Reflection;

namespace CnnSharp.Tests.Architecture;

/// <summary>The dependency rule: kernels work on spans and never see Tensor (candle's core/nn split).</summary>
public sealed class LayeringTests
{
    [Fact]
    public void Kernel_signatures_never_mention_Tensor()
    {
        var kernelTypes = typeof(Tensor).Assembly.GetTypes()
            .Where(t => t.Namespace == "CnnSharp.Kernels")
            .ToList();
        Assert.NotEmpty(kernelTypes);
        const BindingFlags all = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly;
        var offenders = new List<string>();
        foreach (var type in kernelTypes)
        {
            foreach (var m in type.GetMethods(all))
            {
                var types = m.GetParameters().Select(p => p.ParameterType).Append(m.ReturnType);
                if (types.Any(MentionsTensor)) offenders.Add($"{type.Name}.{m.Name}");
            }
            foreach (var f in type.GetFields(all))
                if (MentionsTensor(f.FieldType)) offenders.Add($"{type.Name}.{f.Name}");
        }
        Assert.True(offenders.Count == 0, "Kernels mention Tensor: " + string.Join(", ", offenders));
    }

    /// <summary>
    /// The ONNX runtime and the compiled executor sit beside the training loop, not on it: neither may use
    /// <c>CnnSharp.Training</c> (the fast kernels they share live in <c>Kernels</c>). Checked on the source, since calls
    /// inside method bodies are invisible to reflection.
    /// </summary>
    [Theory]
    [InlineData("Onnx")]
    [InlineData("Compile")]
    [InlineData("Kernels")]
    public void Folder_does_not_use_the_training_layer(string folder)
    {
        var repo = new DirectoryInfo(AppContext.BaseDirectory);
        while (repo is not null && !File.Exists(Path.Combine(repo.FullName, "CnnSharp.slnx"))) repo = repo.Parent;
        Assert.NotNull(repo);
        // A folder of the core (src/CnnSharp/X) or a sibling assembly (src/CnnSharp.X).
        string root = Path.Combine(repo.FullName, "src", "CnnSharp", folder);
        if (!Directory.Exists(root)) root = Path.Combine(repo.FullName, "src", "CnnSharp." + folder);
        var files = Directory.GetFiles(root, "*.cs", SearchOption.AllDirectories);
        Assert.NotEmpty(files);
        var offenders = files.Where(f => File.ReadAllText(f) is var text
            && (text.Contains("CnnSharp.Training", StringComparison.Ordinal) || text.Contains("ConvNetEngine", StringComparison.Ordinal)))
            .Select(f => Path.GetRelativePath(repo.FullName, f)).ToList();
        Assert.True(offenders.Count == 0, $"{folder} uses the training layer: " + string.Join(", ", offenders));
    }

    private static bool MentionsTensor(Type t)
    {
        if (t.HasElementType) return MentionsTensor(t.GetElementType()!);
        if (t == typeof(Tensor)) return true;
        return t.IsGenericType && t.GetGenericArguments().Any(MentionsTensor);
    }
}
