using System.Numerics.Tensors;
using CnnSharp.Autograd;
using CnnSharp.Compile;
using CnnSharp.Kernels;

namespace CnnSharp.Functional;

public static partial class F
{
    // Replays draw a fresh mask from the same generator at every step, as the eager module does.
    private static void TraceDropout(Tensor y, float p, Generator? generator) =>
        Tracer.Describe(y, new EagerSpec(i => Dropout(i[0], p, training: true, generator)));

    /// <summary>Inverted dropout (PyTorch's <c>F.dropout</c>): zeroes each element with probability p and scales the rest by 1/(1-p).</summary>
    /// <remarks>
    /// In training mode <c>y = x * mask / (1 - p)</c> with <c>mask ~ Bernoulli(1 - p)</c> drawn element by element in row-major
    /// order from <paramref name="generator"/> (an element is dropped when the next uniform [0, 1) draw is below p), so a seeded
    /// generator makes the mask reproducible. p = 1 gives zeros. When not training, or p = 0, <paramref name="x"/> itself is
    /// returned and no random numbers are drawn. The gradient is <c>mask / (1 - p)</c>.
    /// </remarks>
    /// <param name="x">Any shape.</param>
    /// <param name="p">Probability of zeroing an element, in [0, 1].</param>
    /// <param name="training">Apply dropout (true) or return the input (false).</param>
    /// <param name="generator">Random source; <see cref="Generator.Default"/> when null.</param>
    /// <returns>Same shape as <paramref name="x"/>.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="p"/> is outside [0, 1] or NaN.</exception>
    public static Tensor Dropout(Tensor x, float p = 0.5f, bool training = true, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (!(p >= 0f && p <= 1f))
            throw new ArgumentOutOfRangeException(nameof(p), p, $"Dropout: probability must be in [0, 1] (input {x.Shape})");
        if (!training || p == 0f) return x;
        var scaleMask = new float[x.Numel];
        if (p < 1f)
        {
            var rng = generator ?? Generator.Default;
            float keepScale = 1f / (1f - p);
            for (int i = 0; i < scaleMask.Length; i++) scaleMask[i] = rng.NextFloat() < p ? 0f : keepScale;
        }
        var y = Tensor.Uninitialized(x.Shape);
        // The mask is drawn in order on the caller (one generator stream); applying it splits over threads.
        float[] xd = x.Storage, yd = y.Storage;
        ElementBlocks.For(yd.Length, (s, e) => TensorPrimitives.Multiply(xd.AsSpan(s, e - s), scaleMask.AsSpan(s, e - s), yd.AsSpan(s, e - s)));
        y.SetGradFn(new DropoutBackward(x, scaleMask));
        if (Tracer.Current is not null) TraceDropout(y, p, generator);
        return y;
    }
}

/// <summary>Multiplies the gradient by the same mask/(1-p) factors as the forward.</summary>
file sealed class DropoutBackward(Tensor x, float[] scaleMask) : Node(x)
{
    protected internal override void Backward(Tensor gradOutput)
    {
        if (GradStorageOf(x) is { } gx)
            ElementBlocks.MapGradient(scaleMask, gradOutput.Storage, gx, static (mask, gy, g) => TensorPrimitives.MultiplyAdd(gy, mask, g, g));
    }
}
