using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Numerics;

namespace CnnSharp.Cli.Commands;

/// <summary>
/// Numeric options whose value is converted and range-checked in one step, by the option's own parser.
/// </summary>
/// <remarks>
/// A separate validator would have to read the value with <c>GetValue</c>, which throws when the text did not convert
/// (<c>--epochs abc</c> crashed the process that way). Here the parser reports either problem as a parse error naming
/// the option and the text given, and returns a value only when it is valid; nothing reads a value that failed. The
/// text is parsed with the invariant culture, so <c>--lr 0.5</c> means the same everywhere.
/// </remarks>
internal static class NumericOption
{
    /// <summary>An <see cref="int"/> option from <paramref name="min"/> to <paramref name="max"/>, <paramref name="defaultValue"/> when absent.</summary>
    /// <param name="why">Appended to the range in messages, e.g. <c>the MNIST training images</c>; null for none.</param>
    public static Option<int> Int(string name, string description, int defaultValue, int min = 1, int max = int.MaxValue, string? why = null)
    {
        var option = new Option<int>(name) { Description = description, DefaultValueFactory = _ => defaultValue };
        string requirement = IntegerRequirement(min, max, why);
        option.CustomParser = result => (int)ParseInteger(result, name, min, max, requirement);
        return option;
    }

    /// <summary>An optional <see cref="int"/> option from <paramref name="min"/> to <paramref name="max"/>, null when absent.</summary>
    /// <param name="why">Appended to the range in messages; null for none.</param>
    public static Option<int?> OptionalInt(string name, string description, int min = 1, int max = int.MaxValue, string? why = null)
    {
        var option = new Option<int?>(name) { Description = description };
        string requirement = IntegerRequirement(min, max, why);
        option.CustomParser = result => (int)ParseInteger(result, name, min, max, requirement);
        return option;
    }

    /// <summary>A <see cref="ulong"/> option (any value from 0 to 2^64-1), <paramref name="defaultValue"/> when absent.</summary>
    public static Option<ulong> UInt64(string name, string description, ulong defaultValue)
    {
        var option = new Option<ulong>(name) { Description = description, DefaultValueFactory = _ => defaultValue };
        string requirement = IntegerRequirement(ulong.MinValue, ulong.MaxValue, why: null);
        option.CustomParser = result => (ulong)ParseInteger(result, name, ulong.MinValue, ulong.MaxValue, requirement);
        return option;
    }

    /// <summary>
    /// A finite <see cref="float"/> option, positive or (with <paramref name="allowZero"/>) non-negative,
    /// <paramref name="defaultValue"/> when absent. <c>inf</c>, <c>Infinity</c>, <c>NaN</c> and values that round to
    /// infinity (<c>1e39</c>) are refused; so are values at or above <paramref name="below"/> when it is given.
    /// </summary>
    public static Option<float> Float(string name, string description, float defaultValue, bool allowZero = false, float? below = null)
    {
        var option = new Option<float>(name) { Description = description, DefaultValueFactory = _ => defaultValue };
        option.CustomParser = result => ParseFloat(result, name, allowZero, below) ?? defaultValue;
        return option;
    }

    /// <summary>As <see cref="Float"/>, null when absent.</summary>
    public static Option<float?> OptionalFloat(string name, string description, bool allowZero = false)
    {
        var option = new Option<float?>(name) { Description = description };
        option.CustomParser = result => ParseFloat(result, name, allowZero);
        return option;
    }

    /// <summary>The finite, in-range number of <paramref name="result"/>, or null (after an error, or when absent).</summary>
    private static float? ParseFloat(ArgumentResult result, string name, bool allowZero, float? below = null)
    {
        string requirement = below is float b
            ? string.Create(CultureInfo.InvariantCulture, $"a number in {(allowZero ? "[0" : "(0")}, {b})")
            : allowZero ? "a finite number >= 0" : "a positive finite number";
        if (Token(result) is not string text) return null;
        if (!float.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out float value))
        {
            result.AddError($"{name}: '{text}' is not a number; expected {requirement}");
            return null;
        }
        if (!float.IsFinite(value) || (allowZero ? !(value >= 0f) : !(value > 0f)) || value >= below)
        {
            result.AddError($"{name} must be {requirement}, got '{text}'");
            return null;
        }
        return value;
    }

    /// <summary>The whole-number text of <paramref name="result"/> in [<paramref name="min"/>, <paramref name="max"/>]; <paramref name="min"/> after an error.</summary>
    private static BigInteger ParseInteger(ArgumentResult result, string name, BigInteger min, BigInteger max, string requirement)
    {
        if (Token(result) is not string text) return min;
        // BigInteger, so an out-of-range number (99999999999) is told apart from text that is no number at all.
        if (!BigInteger.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value))
        {
            result.AddError($"{name}: '{text}' is not a whole number; expected {requirement}");
            return min;
        }
        if (value < min || value > max)
        {
            result.AddError($"{name} must be {requirement}, got {text.Trim()}");
            return min;
        }
        return value;
    }

    private static string IntegerRequirement(BigInteger min, BigInteger max, string? why)
    {
        string range = min == 1 && max == int.MaxValue
            ? "a positive integer"
            : $"an integer from {min.ToString("N0", CultureInfo.InvariantCulture)} to {max.ToString("N0", CultureInfo.InvariantCulture)}";
        return why is null ? range : $"{range} ({why})";
    }

    /// <summary>The option's text; the last one when it is given more than once (the parser reports that separately).</summary>
    private static string? Token(ArgumentResult result) => result.Tokens.Count == 0 ? null : result.Tokens[^1].Value;
}
