using System.Numerics.Tensors;
using CnnSharp.Autograd;
using CnnSharp.Compile;

namespace CnnSharp.Functional;

public static partial class F
{
    // Replays draw a fresh channel mask from the same generator at every step, as the eager module does.
    private static void TraceDropout2d(Tensor y, float p, Generator? generator) =>
        Tracer.Describe(y, new EagerSpec(i => Dropout2d(i[0], p, training: true, generator)));

    /// <summary>Channel-wise inverted dropout (PyTorch's <c>F.dropout2d</c>): zeroes whole feature maps with probability p and scales the rest by 1/(1-p).</summary>
    /// <remarks>
    /// For input (N, C, H, W), in training mode <c>y[n, c] = x[n, c] * mask[n, c] / (1 - p)</c> with one
    /// <c>mask[n, c] ~ Bernoulli(1 - p)</c> per (sample, channel), drawn in row-major (n, c) order from
    /// <paramref name="generator"/> (dropped when the next uniform [0, 1) draw is below p), so a seeded generator makes the
    /// masks reproducible. A 3-D input is read as (N, C, L), PyTorch 1.13's behaviour (one mask per (n, c) row). p = 1 gives
    /// zeros. When not training, or p = 0, <paramref name="x"/> itself is returned and nothing is drawn. The gradient is
    /// <c>mask / (1 - p)</c> broadcast over each feature map.
    /// </remarks>
    /// <param name="x">Shape (N, C, H, W) or (N, C, L).</param>
    /// <param name="p">Probability of zeroing a channel, in [0, 1].</param>
    /// <param name="training">Apply dropout (true) or return the input (false).</param>
    /// <param name="generator">Random source; <see cref="Generator.Default"/> when null.</param>
    /// <returns>Same shape as <paramref name="x"/>.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="p"/> is outside [0, 1] or NaN.</exception>
    /// <exception cref="ShapeException">The input is not 3-D or 4-D.</exception>
    public static Tensor Dropout2d(Tensor x, float p = 0.5f, bool training = true, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (!(p >= 0f && p <= 1f))
            throw new ArgumentOutOfRangeException(nameof(p), p, $"Dropout2d: probability must be in [0, 1] (input {x.Shape})");
        if (x.Rank is not (3 or 4))
            throw new ShapeException($"Dropout2d: expected a 4-D input (N, C, H, W) or a 3-D input (N, C, L), got {x.Shape}");
        if (!training || p == 0f) return x;
        int maps = x.Shape[0] * x.Shape[1];
        int plane = maps == 0 ? 0 : x.Numel / maps;
        var scale = new float[maps];
        if (p < 1f)
        {
            var rng = generator ?? Generator.Default;
            float keepScale = 1f / (1f - p);
            for (int i = 0; i < maps; i++) scale[i] = rng.NextFloat() < p ? 0f : keepScale;
        }
        var y = Tensor.Uninitialized(x.Shape);
        ReadOnlySpan<float> xs = x.Data;
        Span<float> ys = y.Data;
        for (int i = 0; i < maps; i++) TensorPrimitives.Multiply(xs.Slice(i * plane, plane), scale[i], ys.Slice(i * plane, plane));
        y.SetGradFn(new Dropout2dBackward(x, scale, plane));
        if (Tracer.Current is not null) TraceDropout2d(y, p, generator);
        return y;
    }
}

/// <summary>Multiplies each feature map's gradient by the same mask/(1-p) factor as the forward.</summary>
file sealed class Dropout2dBackward(Tensor x, float[] scale, int plane) : Node(x)
{
    protected internal override void Backward(Tensor gradOutput)
    {
        var gx = GradOf(x);
        if (gx.IsEmpty) return;
        ReadOnlySpan<float> dy = gradOutput.Data;
        for (int i = 0; i < scale.Length; i++)
        {
            if (scale[i] == 0f) continue;
            var dst = gx.Slice(i * plane, plane);
            TensorPrimitives.MultiplyAdd(dy.Slice(i * plane, plane), scale[i], dst, dst);
        }
    }
}
