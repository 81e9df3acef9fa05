using CnnSharp.Autograd;
using CnnSharp.Kernels;
using CnnSharp.Compile;

namespace CnnSharp.Functional;

public static partial class F
{
    /// <summary>Logistic sigmoid <c>1 / (1 + exp(-x))</c>, element-wise (PyTorch's <c>torch.sigmoid</c>).</summary>
    /// <remarks>The gradient is <c>y * (1 - y)</c> with y the output.</remarks>
    /// <param name="x">Any shape.</param>
    /// <returns>Same shape as <paramref name="x"/>, values in [0, 1].</returns>
    public static Tensor Sigmoid(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        var y = Tensor.Uninitialized(x.Shape);
        ElementBlocks.Map(x.Storage, y.Storage, ActivationKernels.SigmoidForward);
        y.SetGradFn(new SigmoidBackward(x, y.Storage));
        if (Tracer.Current is not null) Tracer.Describe(y, new ActivationSpec(ActivationKind.Sigmoid));
        return y;
    }
}

/// <summary>Uses the forward output: dy * y * (1 - y).</summary>
file sealed class SigmoidBackward(Tensor x, float[] output) : Node(x)
{
    protected internal override void Backward(Tensor gradOutput)
    {
        if (GradStorageOf(x) is { } gx) ElementBlocks.MapGradient(output, gradOutput.Storage, gx, ActivationKernels.SigmoidBackward);
    }
}
