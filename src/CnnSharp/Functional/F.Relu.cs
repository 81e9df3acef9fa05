using CnnSharp.Autograd;
using CnnSharp.Kernels;
using CnnSharp.Compile;

namespace CnnSharp.Functional;

public static partial class F
{
    /// <summary>Rectified linear unit <c>max(x, 0)</c>, element-wise (PyTorch's <c>F.relu</c>).</summary>
    /// <remarks>The gradient is 1 where the output is positive and 0 elsewhere (0 at x = 0, as in PyTorch). NaN stays NaN.</remarks>
    /// <param name="x">Any shape.</param>
    /// <returns>Same shape as <paramref name="x"/>.</returns>
    public static Tensor Relu(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        var y = Tensor.Uninitialized(x.Shape);
        ElementBlocks.Map(x.Storage, y.Storage, ActivationKernels.ReluForward);
        y.SetGradFn(new ReluBackward(x, y.Storage));
        if (Tracer.Current is not null) Tracer.Describe(y, new ActivationSpec(ActivationKind.Relu));
        return y;
    }
}

/// <summary>Masks the gradient by output &gt; 0.</summary>
file sealed class ReluBackward(Tensor x, float[] output) : Node(x)
{
    protected internal override void Backward(Tensor gradOutput)
    {
        if (GradStorageOf(x) is { } gx) ElementBlocks.MapGradient(output, gradOutput.Storage, gx, ActivationKernels.ReluBackward);
    }
}
