namespace CnnSharp.Tests.TestUtilities;

/// <summary>Tolerances used across the suite, with the reason for each.</summary>
public readonly record struct Tolerance(double Rtol, double Atol)
{
    /// <summary>PyTorch's default float32 comparison (torch.testing): elementwise ops against a float64 reference.</summary>
    public static readonly Tolerance Float32 = new(1.3e-6, 1e-5);

    /// <summary>
    /// Sums of up to a few hundred float32 products (conv, linear, reductions) against a float64 reference:
    /// PyTorch checks conv against SciPy at atol = rtol = 2e-5.
    /// </summary>
    public static readonly Tolerance Accumulated = new(2e-5, 2e-5);

    /// <summary>
    /// float32 analytical gradient vs float64 central differences of the reference (h = 1e-6, so the FD error is ~1e-10):
    /// the float32 rounding of K-term sums (K up to ~1e3, eps 6e-8) bounds the relative error near 1e-4; PyTorch's
    /// gradcheck uses rtol 1e-3 / atol 1e-5 in float64.
    /// </summary>
    public static readonly Tolerance Gradient = new(1e-3, 1e-4);

    /// <summary>Whether <paramref name="actual"/> is within tolerance of <paramref name="expected"/>: |a-e| &lt;= atol + rtol*|e|.</summary>
    public bool IsClose(double expected, double actual) =>
        Math.Abs(actual - expected) <= Atol + Rtol * Math.Abs(expected) || (double.IsNaN(expected) && double.IsNaN(actual));
}
