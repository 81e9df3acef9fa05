using System.Text;
using System.Text.Json;
using Spectre.Console;

namespace CnnSharp.Cli.Rendering;

/// <summary>Tables and machine-readable output shared by the report commands.</summary>
internal static class Tables
{
    /// <summary>
    /// A table for <paramref name="console"/>: rounded borders on a terminal; ASCII borders when the console has no ANSI
    /// support (output piped or redirected, or <c>NO_COLOR</c> non-empty: <see cref="ConsoleSetup"/> decides), so logs and files hold plain text. Spectre lays the
    /// table out within the console's width (80 columns when redirected).
    /// </summary>
    public static Table Create(IAnsiConsole console) =>
        new Table().Border(console.Profile.Capabilities.Ansi ? TableBorder.Rounded : TableBorder.Ascii);

    /// <summary>
    /// Writes one JSON object built by <paramref name="write"/> (inside the braces) and a newline, straight to the console's
    /// writer: Spectre's own writer would wrap it at the console width. Utf8JsonWriter keeps it trimming- and AOT-safe.
    /// </summary>
    public static void WriteJson(IAnsiConsole console, Action<Utf8JsonWriter> write)
    {
        var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            write(json);
            json.WriteEndObject();
        }
        var writer = console.Profile.Out.Writer;
        writer.Write(Encoding.UTF8.GetString(buffer.ToArray()));
        writer.Write('\n');
        writer.Flush();
    }

    /// <summary>A number property; NaN and infinities (no JSON numbers) are written as null.</summary>
    public static void Number(Utf8JsonWriter json, string name, double value)
    {
        if (double.IsFinite(value)) json.WriteNumber(name, value);
        else json.WriteNull(name);
    }

    /// <summary>An array property of integers.</summary>
    public static void Integers(Utf8JsonWriter json, string name, IEnumerable<long> values)
    {
        json.WriteStartArray(name);
        foreach (long v in values) json.WriteNumberValue(v);
        json.WriteEndArray();
    }

    /// <summary>A count with thousands separators (invariant culture).</summary>
    public static string Count(long value) => value.ToString("N0", System.Globalization.CultureInfo.InvariantCulture);
}
