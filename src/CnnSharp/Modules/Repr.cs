using System.Globalization;

namespace CnnSharp.Modules;

/// <summary>Formats module settings the way PyTorch's <c>extra_repr</c> prints them (Python literals).</summary>
internal static class Repr
{
    public static string Bool(bool value) => value ? "True" : "False";

    /// <summary>An int pair as PyTorch shows it: one number when both are equal, else <c>(h, w)</c>.</summary>
    public static string Pair((int H, int W) value) =>
        value.H == value.W ? value.H.ToString(CultureInfo.InvariantCulture) : string.Create(CultureInfo.InvariantCulture, $"({value.H}, {value.W})");

    /// <summary>A number as Python's <c>repr</c> prints it: shortest round-trip digits, <c>1e-05</c> style exponents.</summary>
    public static string Number(double value)
    {
        if (value == Math.Floor(value) && Math.Abs(value) < 1e16) return value.ToString("0", CultureInfo.InvariantCulture);
        return value.ToString("R", CultureInfo.InvariantCulture).Replace('E', 'e');
    }

    /// <summary>A float32 setting as Python prints the same decimal literal (1e-5f prints as <c>1e-05</c>, not its double expansion).</summary>
    public static string Number(float value)
    {
        if (value == MathF.Floor(value) && MathF.Abs(value) < 1e7f) return value.ToString("0.0", CultureInfo.InvariantCulture);
        return value.ToString("R", CultureInfo.InvariantCulture).Replace('E', 'e');
    }
}
