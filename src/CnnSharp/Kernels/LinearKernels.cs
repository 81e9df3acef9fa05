using System.Runtime.CompilerServices;
using System.Numerics.Tensors;

namespace CnnSharp.Kernels;

/// <summary>
/// The affine map of a linear (fully connected) layer, PyTorch's <c>y = x·Wᵀ + b</c>, and its gradients, on the GEMM.
/// </summary>
/// <remarks>
/// Layouts (row-major): x (R, In), w (Out, In) as PyTorch stores it, b (Out) or empty, y (R, Out):
/// <c>y[r,o] = b[o] + Σ_i x[r,i]·w[o,i]</c>. Backward kernels accumulate (<c>+=</c>).
/// </remarks>
internal static class LinearKernels
{
    /// <summary>Forward: <c>y = x·wᵀ + b</c>.</summary>
    /// <param name="input">x, shape (R, In).</param>
    /// <param name="weight">w, shape (Out, In).</param>
    /// <param name="bias">b, shape (Out), or empty.</param>
    /// <param name="output">y, shape (R, Out); fully overwritten.</param>
    /// <param name="rows">R.</param>
    /// <param name="inFeatures">In.</param>
    /// <param name="outFeatures">Out.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Forward(ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, Span<float> output,
        int rows, int inFeatures, int outFeatures)
    {
        bool hasBias = !bias.IsEmpty;
        if (hasBias)
        {
            // Start every row from the bias and let the GEMM add x·wᵀ onto it.
            for (int r = 0; r < rows; r++) bias[..outFeatures].CopyTo(output.Slice(r * outFeatures, outFeatures));
        }
        Gemm.Multiply(false, true, rows, outFeatures, inFeatures, input, inFeatures, weight, inFeatures, output, outFeatures, accumulate: hasBias);
    }

    /// <summary>Backward-data: <c>dx += dy·w</c>.</summary>
    /// <param name="gradOutput">dy, shape (R, Out).</param>
    /// <param name="weight">w, shape (Out, In).</param>
    /// <param name="gradInput">dx, shape (R, In); accumulated into.</param>
    /// <param name="rows">R.</param>
    /// <param name="inFeatures">In.</param>
    /// <param name="outFeatures">Out.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void BackwardInput(ReadOnlySpan<float> gradOutput, ReadOnlySpan<float> weight, Span<float> gradInput,
        int rows, int inFeatures, int outFeatures) =>
        Gemm.Multiply(false, false, rows, inFeatures, outFeatures, gradOutput, outFeatures, weight, inFeatures, gradInput, inFeatures, accumulate: true);

    /// <summary>Backward-weight: <c>dw += dyᵀ·x</c>.</summary>
    /// <param name="input">x, shape (R, In).</param>
    /// <param name="gradOutput">dy, shape (R, Out).</param>
    /// <param name="gradWeight">dw, shape (Out, In); accumulated into.</param>
    /// <param name="rows">R.</param>
    /// <param name="inFeatures">In.</param>
    /// <param name="outFeatures">Out.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void BackwardWeight(ReadOnlySpan<float> input, ReadOnlySpan<float> gradOutput, Span<float> gradWeight,
        int rows, int inFeatures, int outFeatures) =>
        Gemm.Multiply(true, false, outFeatures, inFeatures, rows, gradOutput, outFeatures, input, inFeatures, gradWeight, inFeatures, accumulate: true);

    /// <summary>Backward-bias: <c>db[o] += Σ_r dy[r,o]</c>.</summary>
    /// <param name="gradOutput">dy, shape (R, Out).</param>
    /// <param name="gradBias">db, shape (Out); accumulated into.</param>
    /// <param name="rows">R.</param>
    /// <param name="outFeatures">Out.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void BackwardBias(ReadOnlySpan<float> gradOutput, Span<float> gradBias, int rows, int outFeatures)
    {
        var db = gradBias[..outFeatures];
        for (int r = 0; r < rows; r++) TensorPrimitives.Add(db, gradOutput.Slice(r * outFeatures, outFeatures), db);
    }
}
