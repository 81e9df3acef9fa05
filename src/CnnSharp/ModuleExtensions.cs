using CnnSharp.Modules;

namespace CnnSharp;

/// <summary>Mode switches that return the module as its own type, so a call chains: <c>var net = new ResNet8().Eval();</c>.</summary>
/// <remarks>Extension methods rather than instance methods because C# has no self type: an instance method on
/// <see cref="Module"/> could only return <see cref="Module"/>.</remarks>
public static class ModuleExtensions
{
    /// <summary>Sets training mode (<paramref name="mode"/> true) or evaluation mode on the module and all descendants, as
    /// PyTorch's <c>module.train(mode)</c>.</summary>
    /// <returns><paramref name="module"/>.</returns>
    public static T Train<T>(this T module, bool mode = true) where T : Module
    {
        ArgumentNullException.ThrowIfNull(module);
        module.SetTraining(mode);
        return module;
    }

    /// <summary>Sets evaluation mode (batch norm uses running statistics, dropout is the identity), as PyTorch's
    /// <c>module.eval()</c>.</summary>
    /// <returns><paramref name="module"/>.</returns>
    public static T Eval<T>(this T module) where T : Module => module.Train(false);
}
