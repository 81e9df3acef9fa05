using System.Text.Json;

namespace CnnSharp.Tests.TestUtilities;

/// <summary>Reads the JSON fixtures under Fixtures/ (written by the scripts in tests/reference/, never by hand).</summary>
public static class JsonFixture
{
    /// <summary>Parses Fixtures/{relativePath} from the test output folder.</summary>
    public static JsonElement Load(string relativePath)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Fixtures", relativePath);
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        return doc.RootElement.Clone();
    }

    /// <summary>A JSON array of numbers as float32 (the fixtures hold float32 values as round-tripping decimals).</summary>
    public static float[] Floats(this JsonElement e) => [.. e.EnumerateArray().Select(v => (float)v.GetDouble())];

    /// <summary>A JSON array of integers.</summary>
    public static int[] Ints(this JsonElement e) => [.. e.EnumerateArray().Select(v => v.GetInt32())];
}
