using System.Diagnostics;
using System.Numerics.Tensors;

namespace CnnSharp.Kernels;

/// <summary>
/// Softmax and log-softmax along one dimension, numerically stable (the maximum is subtracted before exponentiating).
/// </summary>
/// <remarks>
/// Layout: the tensor is viewed as (outer, size, inner), the reduced dimension in the middle; element (o, k, i) is at
/// <c>(o*size + k)*inner + i</c>. <c>softmax = exp(x - max) / sum exp(x - max)</c>,
/// <c>log_softmax = (x - max) - log(sum exp(x - max))</c>. When inner = 1 each row is contiguous and handled by
/// TensorPrimitives; otherwise the same steps run over the contiguous inner vectors of each k, so the reduction is still
/// vectorised. Backward: <c>dx = y * (dy - sum(dy * y))</c> for softmax, <c>dx = dy - exp(y) * sum(dy)</c> for log-softmax.
/// </remarks>
internal static unsafe class SoftmaxKernels
{
    private const int MinElementsPerChunk = 16384;

    /// <summary>Softmax (or log-softmax when <paramref name="log"/>) of <paramref name="input"/> into <paramref name="output"/>.</summary>
    public static void Forward(ReadOnlySpan<float> input, Span<float> output, int outer, int size, int inner, bool log)
    {
        Debug.Assert(input.Length == outer * size * inner && output.Length == input.Length && size > 0);
        int block = size * inner;
        fixed (float* pIn = input, pOut = output)
        {
            float* xp = pIn, yp = pOut;
            Parallelism.For(outer, (start, end) =>
            {
                float[]? scratch = inner > 1 ? new float[2 * inner] : null;
                for (int o = start; o < end; o++)
                {
                    var x = new ReadOnlySpan<float>(xp + (long)o * block, block);
                    var y = new Span<float>(yp + (long)o * block, block);
                    if (inner == 1) ForwardRow(x, y, log);
                    else ForwardStrided(x, y, size, inner, log, scratch!);
                }
            }, Math.Max(1, MinElementsPerChunk / Math.Max(1, block)));
        }
    }

    private static void ForwardRow(ReadOnlySpan<float> x, Span<float> y, bool log)
    {
        float max = TensorPrimitives.Max(x);
        TensorPrimitives.Subtract(x, max, y);
        TensorPrimitives.Exp(y, y);
        float sum = TensorPrimitives.Sum(y);
        if (log)
        {
            // (x - max) first: it is exact for nearby values, whereas max + log(sum) would round at large magnitudes.
            TensorPrimitives.Subtract(x, max, y);
            TensorPrimitives.Subtract(y, MathF.Log(sum), y);
        }
        else
        {
            TensorPrimitives.Divide(y, sum, y);
        }
    }

    private static void ForwardStrided(ReadOnlySpan<float> x, Span<float> y, int size, int inner, bool log, float[] scratch)
    {
        var max = scratch.AsSpan(0, inner);
        var sum = scratch.AsSpan(inner, inner);
        x[..inner].CopyTo(max);
        for (int k = 1; k < size; k++) TensorPrimitives.Max(max, x.Slice(k * inner, inner), max);
        sum.Clear();
        for (int k = 0; k < size; k++)
        {
            var yk = y.Slice(k * inner, inner);
            TensorPrimitives.Subtract(x.Slice(k * inner, inner), max, yk);
            TensorPrimitives.Exp(yk, yk);
            TensorPrimitives.Add(sum, yk, sum);
        }
        if (log)
        {
            // (x - max) - log(sum), in that order, as in the row path.
            TensorPrimitives.Log(sum, sum);
            for (int k = 0; k < size; k++)
            {
                var yk = y.Slice(k * inner, inner);
                TensorPrimitives.Subtract(x.Slice(k * inner, inner), max, yk);
                TensorPrimitives.Subtract(yk, sum, yk);
            }
        }
        else
        {
            for (int k = 0; k < size; k++) TensorPrimitives.Divide(y.Slice(k * inner, inner), sum, y.Slice(k * inner, inner));
        }
    }

    /// <summary>
    /// Accumulates the input gradient given the forward <paramref name="output"/>: softmax <c>dx += y * (dy - sum(dy*y))</c>,
    /// log-softmax <c>dx += dy - exp(y) * sum(dy)</c>, sums along the reduced dimension.
    /// </summary>
    public static void Backward(ReadOnlySpan<float> output, ReadOnlySpan<float> gradOutput, Span<float> gradInput, int outer, int size, int inner, bool log)
    {
        Debug.Assert(output.Length == outer * size * inner && gradOutput.Length == output.Length && gradInput.Length == output.Length);
        int block = size * inner;
        fixed (float* pY = output, pGy = gradOutput, pGx = gradInput)
        {
            float* yp = pY, gyp = pGy, gxp = pGx;
            Parallelism.For(outer, (start, end) =>
            {
                var tmp = new float[inner == 1 ? size : inner];
                var dot = new float[inner];
                for (int o = start; o < end; o++)
                {
                    var y = new ReadOnlySpan<float>(yp + (long)o * block, block);
                    var gy = new ReadOnlySpan<float>(gyp + (long)o * block, block);
                    var gx = new Span<float>(gxp + (long)o * block, block);
                    if (inner == 1) BackwardRow(y, gy, gx, tmp, log);
                    else BackwardStrided(y, gy, gx, size, inner, dot, tmp, log);
                }
            }, Math.Max(1, MinElementsPerChunk / Math.Max(1, block)));
        }
    }

    private static void BackwardRow(ReadOnlySpan<float> y, ReadOnlySpan<float> gy, Span<float> gx, Span<float> tmp, bool log)
    {
        tmp = tmp[..y.Length];
        if (log)
        {
            float sum = TensorPrimitives.Sum(gy);
            TensorPrimitives.Exp(y, tmp);
            TensorPrimitives.Multiply(tmp, sum, tmp);
            TensorPrimitives.Subtract(gy, tmp, tmp);
        }
        else
        {
            float dot = TensorPrimitives.Dot(gy, y);
            TensorPrimitives.Subtract(gy, dot, tmp);
            TensorPrimitives.Multiply(tmp, y, tmp);
        }
        TensorPrimitives.Add(gx, tmp, gx);
    }

    private static void BackwardStrided(ReadOnlySpan<float> y, ReadOnlySpan<float> gy, Span<float> gx, int size, int inner,
        Span<float> dot, Span<float> tmp, bool log)
    {
        // dot[i] = sum_k dy*y (softmax) or sum_k dy (log-softmax), per inner column.
        dot.Clear();
        for (int k = 0; k < size; k++)
        {
            var gyk = gy.Slice(k * inner, inner);
            if (log) TensorPrimitives.Add(dot, gyk, dot);
            else TensorPrimitives.MultiplyAdd(gyk, y.Slice(k * inner, inner), dot, dot);
        }
        for (int k = 0; k < size; k++)
        {
            var yk = y.Slice(k * inner, inner);
            var gyk = gy.Slice(k * inner, inner);
            var gxk = gx.Slice(k * inner, inner);
            if (log)
            {
                TensorPrimitives.Exp(yk, tmp);
                TensorPrimitives.Multiply(tmp, dot, tmp);
                TensorPrimitives.Subtract(gyk, tmp, tmp);
            }
            else
            {
                TensorPrimitives.Subtract(gyk, dot, tmp);
                TensorPrimitives.Multiply(tmp, yk, tmp);
            }
            TensorPrimitives.Add(gxk, tmp, gxk);
        }
    }
}
