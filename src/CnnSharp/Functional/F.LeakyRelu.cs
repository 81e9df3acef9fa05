using CnnSharp.Autograd;
using CnnSharp.Kernels;
using CnnSharp.Compile;

namespace CnnSharp.Functional;

public static partial class F
{
    // A separate method so the replay closure is allocated only while tracing.
    private static void TraceLeakyRelu(Tensor y, float slope) => Tracer.Describe(y, new LeakyReluSpec(slope, i => LeakyRelu(i[0], slope)));

    /// <summary>Leaky ReLU <c>x &gt; 0 ? x : negativeSlope * x</c>, element-wise (PyTorch's <c>F.leaky_relu</c>).</summary>
    /// <remarks>The gradient is 1 for x &gt; 0 and <paramref name="negativeSlope"/> otherwise (including x = 0, as in PyTorch).</remarks>
    /// <param name="x">Any shape.</param>
    /// <param name="negativeSlope">Slope for non-positive inputs.</param>
    /// <returns>Same shape as <paramref name="x"/>.</returns>
    public static Tensor LeakyRelu(Tensor x, float negativeSlope = 0.01f)
    {
        ArgumentNullException.ThrowIfNull(x);
        var y = Tensor.Uninitialized(x.Shape);
        ElementBlocks.Map(x.Storage, y.Storage, (input, output) => ActivationKernels.LeakyReluForward(input, output, negativeSlope));
        y.SetGradFn(new LeakyReluBackward(x, negativeSlope));
        if (Tracer.Current is not null) TraceLeakyRelu(y, negativeSlope);
        return y;
    }
}

/// <summary>Scales the gradient by 1 or the slope, depending on the input's sign.</summary>
file sealed class LeakyReluBackward(Tensor x, float negativeSlope) : Node(x)
{
    protected internal override void Backward(Tensor gradOutput)
    {
        if (GradStorageOf(x) is { } gx)
            ElementBlocks.MapGradient(x.Storage, gradOutput.Storage, gx, (input, gy, g) => ActivationKernels.LeakyReluBackward(input, gy, g, negativeSlope));
    }
}
