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

    private static bool MentionsTensor(Type t)
    {
        if (t.HasElementType) return MentionsTensor(t.GetElementType()!);
        if (t == typeof(Tensor)) return true;
        return t.IsGenericType && t.GetGenericArguments().Any(MentionsTensor);
    }
}
