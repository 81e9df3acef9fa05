using System.Text.Json;

namespace CnnSharp.Tests.Signal;

/// <summary>One case of Fixtures/numpy/signal.json (written by tests/reference/generate_numpy_signal.py).</summary>
public sealed record NumpySignalCase(
    string Name, string Op, CorrelationMode Mode, double[] F, double[]? G, string NumpyCall, int First, double[] Expected)
{
    public override string ToString() => Name;
}

/// <summary>Loads the NumPy reference cases for <c>CnnSharp.Signal</c> (the class) once per test run.</summary>
public static class NumpySignalFixture
{
    private static readonly Lazy<IReadOnlyDictionary<string, NumpySignalCase>> s_cases = new(Load);

    public static IReadOnlyDictionary<string, NumpySignalCase> Cases => s_cases.Value;

    public static TheoryData<string> Names()
    {
        var data = new TheoryData<string>();
        foreach (string name in Cases.Keys) data.Add(name);
        return data;
    }

    private static Dictionary<string, NumpySignalCase> Load()
    {
        string path = Path.Combine(AppContext.BaseDirectory, "Fixtures", "numpy", "signal.json");
        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        var cases = new Dictionary<string, NumpySignalCase>(StringComparer.Ordinal);
        foreach (var c in doc.RootElement.GetProperty("cases").EnumerateArray())
        {
            var g = c.GetProperty("g");
            var item = new NumpySignalCase(
                c.GetProperty("name").GetString()!,
                c.GetProperty("op").GetString()!,
                c.GetProperty("mode").GetString() switch
                {
                    "full" => CorrelationMode.Full,
                    "same" => CorrelationMode.Same,
                    "valid" => CorrelationMode.Valid,
                    var other => throw new InvalidDataException($"signal.json: unknown mode '{other}'"),
                },
                ReadDoubles(c.GetProperty("f")),
                g.ValueKind == JsonValueKind.Null ? null : ReadDoubles(g),
                c.GetProperty("numpy_call").GetString()!,
                c.GetProperty("first").GetInt32(),
                ReadDoubles(c.GetProperty("expected")));
            cases.Add(item.Name, item);
        }
        return cases;
    }

    private static double[] ReadDoubles(JsonElement array)
    {
        var values = new double[array.GetArrayLength()];
        int i = 0;
        foreach (var v in array.EnumerateArray()) values[i++] = v.GetDouble();
        return values;
    }
}
