using System.Diagnostics;
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace CnnSharp.Kernels;

/// <summary>
/// Element-wise activations and their derivatives over flat spans (any layout). Forward maths uses TensorPrimitives;
/// backward kernels accumulate (<c>+=</c>) into gradInput.
/// </summary>
/// <remarks>
/// The hand-vectorised kernels (ReLU, LeakyReLU with a compare mask and a conditional select; the sigmoid and tanh
/// derivatives) process <see cref="Vector{T}.Count"/> lanes at a time; the remainder (length mod lane count) runs the same
/// arithmetic in scalar code, in the same order (.NET does not contract a*b + c into an FMA), so an element's bits do not
/// depend on whether it fell in the vector body or the tail.
/// </remarks>
internal static class ActivationKernels
{
    /// <summary><c>y = max(x, 0)</c> (NaN propagates).</summary>
    public static void ReluForward(ReadOnlySpan<float> input, Span<float> output) => TensorPrimitives.Max(input, 0f, output);

    /// <summary><c>gradInput += output &gt; 0 ? gradOutput : 0</c> (PyTorch masks on the result, so the gradient at 0 is 0).</summary>
    public static void ReluBackward(ReadOnlySpan<float> output, ReadOnlySpan<float> gradOutput, Span<float> gradInput)
    {
        Debug.Assert(output.Length == gradOutput.Length && gradInput.Length == output.Length);
        int i = 0;
        if (Vector.IsHardwareAccelerated && output.Length >= Vector<float>.Count)
        {
            var y = MemoryMarshal.Cast<float, Vector<float>>(output);
            var gy = MemoryMarshal.Cast<float, Vector<float>>(gradOutput);
            var gx = MemoryMarshal.Cast<float, Vector<float>>(gradInput);
            for (int v = 0; v < y.Length; v++)
                gx[v] += Vector.ConditionalSelect(Vector.GreaterThan(y[v], Vector<float>.Zero), gy[v], Vector<float>.Zero);
            i = y.Length * Vector<float>.Count;
        }
        for (; i < output.Length; i++)
            if (output[i] > 0f) gradInput[i] += gradOutput[i];
    }

    /// <summary><c>y = x &gt; 0 ? x : slope * x</c>.</summary>
    public static void LeakyReluForward(ReadOnlySpan<float> input, Span<float> output, float negativeSlope)
    {
        Debug.Assert(input.Length == output.Length);
        int i = 0;
        if (Vector.IsHardwareAccelerated && input.Length >= Vector<float>.Count)
        {
            var x = MemoryMarshal.Cast<float, Vector<float>>(input);
            var y = MemoryMarshal.Cast<float, Vector<float>>(output);
            var slope = new Vector<float>(negativeSlope);
            for (int v = 0; v < x.Length; v++)
                y[v] = Vector.ConditionalSelect(Vector.GreaterThan(x[v], Vector<float>.Zero), x[v], x[v] * slope);
            i = x.Length * Vector<float>.Count;
        }
        for (; i < input.Length; i++)
            output[i] = input[i] > 0f ? input[i] : input[i] * negativeSlope;
    }

    /// <summary><c>gradInput += x &gt; 0 ? gradOutput : slope * gradOutput</c>.</summary>
    public static void LeakyReluBackward(ReadOnlySpan<float> input, ReadOnlySpan<float> gradOutput, Span<float> gradInput, float negativeSlope)
    {
        Debug.Assert(input.Length == gradOutput.Length && gradInput.Length == input.Length);
        int i = 0;
        if (Vector.IsHardwareAccelerated && input.Length >= Vector<float>.Count)
        {
            var x = MemoryMarshal.Cast<float, Vector<float>>(input);
            var gy = MemoryMarshal.Cast<float, Vector<float>>(gradOutput);
            var gx = MemoryMarshal.Cast<float, Vector<float>>(gradInput);
            var slope = new Vector<float>(negativeSlope);
            for (int v = 0; v < x.Length; v++)
                gx[v] += Vector.ConditionalSelect(Vector.GreaterThan(x[v], Vector<float>.Zero), gy[v], gy[v] * slope);
            i = x.Length * Vector<float>.Count;
        }
        for (; i < input.Length; i++)
            gradInput[i] += input[i] > 0f ? gradOutput[i] : gradOutput[i] * negativeSlope;
    }

    /// <summary><c>y = 1 / (1 + exp(-x))</c>.</summary>
    public static void SigmoidForward(ReadOnlySpan<float> input, Span<float> output) => TensorPrimitives.Sigmoid(input, output);

    /// <summary><c>gradInput += gradOutput * y * (1 - y)</c> from the forward output y.</summary>
    public static void SigmoidBackward(ReadOnlySpan<float> output, ReadOnlySpan<float> gradOutput, Span<float> gradInput)
    {
        Debug.Assert(output.Length == gradOutput.Length && gradInput.Length == output.Length);
        int i = 0;
        if (Vector.IsHardwareAccelerated && output.Length >= Vector<float>.Count)
        {
            var yv = MemoryMarshal.Cast<float, Vector<float>>(output);
            var gy = MemoryMarshal.Cast<float, Vector<float>>(gradOutput);
            var gx = MemoryMarshal.Cast<float, Vector<float>>(gradInput);
            for (int v = 0; v < yv.Length; v++) gx[v] += gy[v] * yv[v] * (Vector<float>.One - yv[v]);
            i = yv.Length * Vector<float>.Count;
        }
        for (; i < output.Length; i++)
        {
            float y = output[i];
            gradInput[i] += gradOutput[i] * y * (1f - y);
        }
    }

    /// <summary><c>y = tanh(x)</c>.</summary>
    public static void TanhForward(ReadOnlySpan<float> input, Span<float> output) => TensorPrimitives.Tanh(input, output);

    /// <summary><c>gradInput += gradOutput * (1 - y^2)</c> from the forward output y.</summary>
    public static void TanhBackward(ReadOnlySpan<float> output, ReadOnlySpan<float> gradOutput, Span<float> gradInput)
    {
        Debug.Assert(output.Length == gradOutput.Length && gradInput.Length == output.Length);
        int i = 0;
        if (Vector.IsHardwareAccelerated && output.Length >= Vector<float>.Count)
        {
            var yv = MemoryMarshal.Cast<float, Vector<float>>(output);
            var gy = MemoryMarshal.Cast<float, Vector<float>>(gradOutput);
            var gx = MemoryMarshal.Cast<float, Vector<float>>(gradInput);
            for (int v = 0; v < yv.Length; v++) gx[v] += gy[v] * (Vector<float>.One - yv[v] * yv[v]);
            i = yv.Length * Vector<float>.Count;
        }
        for (; i < output.Length; i++)
        {
            float y = output[i];
            gradInput[i] += gradOutput[i] * (1f - y * y);
        }
    }
}
