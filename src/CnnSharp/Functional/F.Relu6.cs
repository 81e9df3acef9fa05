using CnnSharp.Autograd;
using CnnSharp.Compile;

namespace CnnSharp.Functional;

public static partial class F
{
    /// <summary>
    /// ReLU capped at six, <c>min(max(x, 0), 6)</c>, element-wise (PyTorch's <c>F.relu6</c>, i.e. <c>hardtanh(x, 0, 6)</c>):
    /// MobileNet's activation, whose bounded range suits low-precision inference.
    /// </summary>
    /// <remarks>
    /// The gradient is 0 where x &lt;= 0 or x &gt;= 6 (so 0 at exactly 0 and 6) and 1 elsewhere, as PyTorch's hardtanh
    /// backward computes it; a NaN input therefore stays NaN in the output and passes its gradient, as in PyTorch 1.13.
    /// </remarks>
    /// <param name="x">Any shape.</param>
    /// <returns>Same shape as <paramref name="x"/>.</returns>
    public static Tensor Relu6(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        var y = Tensor.Uninitialized(x.Shape);
        Relu6Forward(x.Data, y.Data);
        y.SetGradFn(new Relu6Backward(x));
        // Compiled plans replay it eagerly (like LeakyReLU): MobileNet is not on the fused paths.
        if (Tracer.Current is not null) Tracer.Describe(y, new Relu6Spec(i => Relu6(i[0])));
        return y;
    }

    private static void Relu6Forward(ReadOnlySpan<float> input, Span<float> output)
    {
        for (int i = 0; i < input.Length; i++)
        {
            float v = input[i];
            // Written so that NaN fails both comparisons and is passed through, as PyTorch does.
            output[i] = v < 0f ? 0f : v > 6f ? 6f : v;
        }
    }
}

/// <summary>Blocks the gradient where the input is at or beyond either end of [0, 6] (NaN fails both tests and passes it).</summary>
file sealed class Relu6Backward(Tensor x) : Node(x)
{
    protected internal override void Backward(Tensor gradOutput)
    {
        var gx = GradOf(x);
        if (gx.IsEmpty) return;
        ReadOnlySpan<float> input = x.Data;
        ReadOnlySpan<float> dy = gradOutput.Data;
        for (int i = 0; i < gx.Length; i++)
            if (!(input[i] <= 0f || input[i] >= 6f)) gx[i] += dy[i];
    }
}
