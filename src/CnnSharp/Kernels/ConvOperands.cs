namespace CnnSharp.Kernels;

/// <summary>The length checks every forward convolution kernel makes before it works through raw pointers.</summary>
internal static class ConvOperands
{
    /// <summary>
    /// Checks x (N·C·H·W), the optional bias (K), y (N·K·OutH·OutW) and the optional residual (y's length, not
    /// overlapping y) against <paramref name="g"/>; the message names <paramref name="kernel"/> and the operand.
    /// </summary>
    /// <exception cref="ArgumentException">An operand has the wrong length, or the residual overlaps the output.</exception>
    public static void CheckForward(string kernel, ReadOnlySpan<float> input, ReadOnlySpan<float> bias, ReadOnlySpan<float> residual,
        ReadOnlySpan<float> output, in Conv2dGeometry g)
    {
        Check(kernel, input.Length, (long)g.N * g.C * g.H * g.W, nameof(input));
        if (!bias.IsEmpty) Check(kernel, bias.Length, g.K, nameof(bias));
        Check(kernel, output.Length, (long)g.N * g.K * g.OutH * g.OutW, nameof(output));
        if (!residual.IsEmpty)
        {
            Check(kernel, residual.Length, output.Length, nameof(residual));
            if (residual.Overlaps(output)) throw new ArgumentException($"{kernel}: the residual overlaps the output", nameof(residual));
        }
    }

    /// <summary>Throws unless <paramref name="actual"/> equals <paramref name="expected"/>.</summary>
    public static void Check(string kernel, int actual, long expected, string name)
    {
        // The kernels work through raw pointers, so a size mismatch must never get past this point.
        if (actual != expected) throw new ArgumentException($"{kernel}: {name} has {actual} values, the geometry needs {expected}", name);
    }
}
