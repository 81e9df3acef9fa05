using CnnSharp.Autograd;
using CnnSharp.Kernels;
using CnnSharp.Compile;

namespace CnnSharp.Functional;

public static partial class F
{
    /// <summary>Hyperbolic tangent, element-wise (PyTorch's <c>torch.tanh</c>).</summary>
    /// <remarks>The gradient is <c>1 - y^2</c> with y the output.</remarks>
    /// <param name="x">Any shape.</param>
    /// <returns>Same shape as <paramref name="x"/>, values in [-1, 1].</returns>
    public static Tensor Tanh(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        var y = Tensor.Uninitialized(x.Shape);
        ElementBlocks.Map(x.Storage, y.Storage, ActivationKernels.TanhForward);
        y.SetGradFn(new TanhBackward(x, y.Storage));
        if (Tracer.Current is not null) Tracer.Describe(y, new ActivationSpec(ActivationKind.Tanh));
        return y;
    }
}

/// <summary>Uses the forward output: dy * (1 - y^2).</summary>
file sealed class TanhBackward(Tensor x, float[] output) : Node(x)
{
    protected internal override void Backward(Tensor gradOutput)
    {
        if (GradStorageOf(x) is { } gx) ElementBlocks.MapGradient(output, gradOutput.Storage, gx, ActivationKernels.TanhBackward);
    }
}
