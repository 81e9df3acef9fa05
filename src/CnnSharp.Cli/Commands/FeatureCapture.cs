using CnnSharp.Modules;

namespace CnnSharp.Cli.Commands;

/// <summary>
/// Records the outputs of the first <c>limit</c> <see cref="Conv2d"/> calls of one forward pass (a forward hook on every
/// convolution, through <see cref="ForwardObserver"/>), with the modules' state-dict names.
/// </summary>
internal sealed class FeatureCapture(Module model, int limit) : ForwardObserver
{
    private readonly Dictionary<Module, string> _names = Names(model);

    /// <summary>The captured (name, output) pairs in call order; each output is a copy, (N, C, H, W).</summary>
    public List<(string Name, Tensor Output)> Outputs { get; } = [];

    private static Dictionary<Module, string> Names(Module model)
    {
        var names = new Dictionary<Module, string>(ReferenceEqualityComparer.Instance);
        // A module registered under two paths keeps its first, as in PyTorch's named_modules.
        foreach (var (name, module) in model.NamedModules()) names.TryAdd(module, name);
        return names;
    }

    public override void Enter(Module module, ReadOnlySpan<Tensor> inputs)
    {
    }

    public override void Exit(Module module, Tensor output)
    {
        if (module is not Conv2d || Outputs.Count >= limit) return;
        // A copy: a later layer must not be able to change what was recorded.
        Outputs.Add((_names.TryGetValue(module, out var name) ? name : $"conv{Outputs.Count}", new Tensor(output.ToArray(), output.Shape)));
    }
}
