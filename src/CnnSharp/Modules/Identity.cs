namespace CnnSharp.Modules;

/// <summary>Returns its input unchanged (PyTorch's <c>nn.Identity</c>); a placeholder layer. No parameters.</summary>
public sealed class Identity : Module
{
    /// <summary>Returns <paramref name="input"/> itself.</summary>
    public override Tensor Forward(Tensor input) => input;
}
