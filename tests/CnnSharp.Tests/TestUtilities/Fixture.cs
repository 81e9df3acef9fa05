using System.Text.Json;

namespace CnnSharp.Tests.TestUtilities;

/// <summary>
/// A tensor stored in a fixture: its dtype as PyTorch named it ("float32" for inputs and upstream gradients, "float64"
/// for reference outputs and gradients, "int64" for class targets and max-pool indices), its shape and its row-major data.
/// </summary>
/// <remarks>
/// float32 entries hold float32 values exactly (written as the decimal of their float64 widening), so
/// <see cref="ToFloatArray"/> is lossless for them. A scalar (0-d) tensor has an empty shape and one element.
/// </remarks>
public sealed record FixtureTensor(string Name, string Dtype, int[] Shape, double[] Data)
{
    /// <summary>The data rounded to float32 (exact for float32 and small int64 entries).</summary>
    public float[] ToFloatArray() => Array.ConvertAll(Data, v => (float)v);

    /// <summary>The data as integers; only for int64 entries (class targets, max-pool indices).</summary>
    public long[] ToInt64Array()
    {
        if (Dtype != "int64") throw new InvalidOperationException($"fixture tensor '{Name}' is {Dtype}, not int64");
        return Array.ConvertAll(Data, v => (long)v);
    }

    /// <summary>A CnnSharp float32 tensor with this shape and data (a 0-d fixture tensor becomes shape (1)).</summary>
    public Tensor ToTensor() => Tensor.FromArray(ToFloatArray(), Shape.Length == 0 ? [1] : Shape);

    public override string ToString() => $"{Name} {Dtype} ({string.Join(", ", Shape)})";
}

/// <summary>
/// A PyTorch reference fixture from Fixtures/pytorch/&lt;name&gt;.json, written by tests/reference/generate_pytorch_fixtures.py
/// (schema in tests/reference/README.md).
/// </summary>
public sealed class Fixture
{
    private readonly Dictionary<string, JsonElement> _params;

    private Fixture(string name, string call, string? note, Dictionary<string, JsonElement> parameters,
        Dictionary<string, FixtureTensor> inputs, Dictionary<string, FixtureTensor> outputs,
        Dictionary<string, FixtureTensor> gradOutputs, Dictionary<string, FixtureTensor> grads)
    {
        Name = name;
        Call = call;
        Note = note;
        _params = parameters;
        Inputs = inputs;
        Outputs = outputs;
        GradOutputs = gradOutputs;
        Grads = grads;
    }

    /// <summary>The fixture's name (its file name without .json).</summary>
    public string Name { get; }

    /// <summary>The exact Python expression that produced the numbers, e.g. <c>F.conv2d(input, weight, bias, stride=(2, 2), ...)</c>.</summary>
    public string Call { get; }

    /// <summary>Why the case exists, when it is subtle; null otherwise.</summary>
    public string? Note { get; }

    /// <summary>Named inputs as passed to <see cref="Call"/> (float32 values, or int64 targets). BatchNorm's running statistics before the call are here.</summary>
    public IReadOnlyDictionary<string, FixtureTensor> Inputs { get; }

    /// <summary>Named results in float64: "output", plus "indices" for max pools and the updated "running_mean"/"running_var" for training batch norm.</summary>
    public IReadOnlyDictionary<string, FixtureTensor> Outputs { get; }

    /// <summary>The upstream gradient fed to backward, keyed by the output it applies to ("output"); float32 values.</summary>
    public IReadOnlyDictionary<string, FixtureTensor> GradOutputs { get; }

    /// <summary>Gradients (float64) of the differentiable inputs for <see cref="GradOutputs"/>, keyed by input name.</summary>
    public IReadOnlyDictionary<string, FixtureTensor> Grads { get; }

    /// <summary>Names of the scalar or list parameters.</summary>
    public IEnumerable<string> ParamNames => _params.Keys;

    /// <summary>Input <paramref name="name"/>; throws naming the fixture and the available inputs when absent.</summary>
    public FixtureTensor Input(string name) => Get(Inputs, "inputs", name);

    /// <summary>Output <paramref name="name"/> (default "output").</summary>
    public FixtureTensor Output(string name = "output") => Get(Outputs, "outputs", name);

    /// <summary>The upstream gradient for output <paramref name="name"/> (default "output").</summary>
    public FixtureTensor GradOutput(string name = "output") => Get(GradOutputs, "grad_outputs", name);

    /// <summary>The reference gradient of input <paramref name="name"/>.</summary>
    public FixtureTensor Grad(string name) => Get(Grads, "grads", name);

    /// <summary>True when the fixture has parameter <paramref name="name"/>.</summary>
    public bool HasParam(string name) => _params.ContainsKey(name);

    /// <summary>An integer parameter (groups, dim, start_dim).</summary>
    public int Int(string name) => Param(name).GetInt32();

    /// <summary>A floating-point parameter (eps, momentum, norm_type).</summary>
    public double Double(string name) => Param(name).GetDouble();

    /// <summary>A boolean parameter (ceil_mode, count_include_pad, training, bias).</summary>
    public bool Bool(string name) => Param(name).GetBoolean();

    /// <summary>A string parameter (reduction).</summary>
    public string String(string name) => Param(name).GetString()!;

    /// <summary>An integer-list parameter; 2-D geometry (kernel_size, stride, padding, dilation, output_size) is always [height, width].</summary>
    public int[] Ints(string name)
    {
        var element = Param(name);
        if (element.ValueKind != JsonValueKind.Array)
            throw new InvalidDataException($"{Name}.json: param '{name}' is {element.ValueKind}, not a list");
        return element.EnumerateArray().Select(e => e.GetInt32()).ToArray();
    }

    /// <summary>A list-of-numbers parameter as doubles.</summary>
    public double[] Doubles(string name)
    {
        var element = Param(name);
        if (element.ValueKind != JsonValueKind.Array)
            throw new InvalidDataException($"{Name}.json: param '{name}' is {element.ValueKind}, not a list");
        return element.EnumerateArray().Select(e => e.GetDouble()).ToArray();
    }

    /// <summary>Whether parameter <paramref name="name"/> is JSON null (an optional argument left out of the call).</summary>
    public bool IsNull(string name) => Param(name).ValueKind == JsonValueKind.Null;

    /// <summary>Directory holding the PyTorch fixtures in the test output.</summary>
    public static string Directory => Path.Combine(AppContext.BaseDirectory, "Fixtures", "pytorch");

    /// <summary>Names of every stored PyTorch fixture, sorted.</summary>
    public static IReadOnlyList<string> AllNames() =>
        System.IO.Directory.GetFiles(Directory, "*.json").Select(Path.GetFileNameWithoutExtension).Order(StringComparer.Ordinal).ToList()!;

    /// <summary>Loads Fixtures/pytorch/<paramref name="name"/>.json.</summary>
    /// <exception cref="FileNotFoundException">No fixture has that name.</exception>
    /// <exception cref="InvalidDataException">The file does not follow the schema (the message names the file and the field).</exception>
    public static Fixture Load(string name)
    {
        string path = Path.Combine(Directory, name + ".json");
        if (!File.Exists(path))
            throw new FileNotFoundException($"no PyTorch fixture '{name}' in {Directory}; regenerate with tests/reference/generate_pytorch_fixtures.py", path);
        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        var root = doc.RootElement;
        string file = name + ".json";
        string stored = Required(root, "name", file).GetString()!;
        if (stored != name) throw new InvalidDataException($"{file}: \"name\" is '{stored}'");
        var note = root.TryGetProperty("note", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString() : null;
        var parameters = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var p in Required(root, "params", file).EnumerateObject()) parameters[p.Name] = p.Value.Clone();
        return new Fixture(name, Required(root, "call", file).GetString()!, note, parameters,
            Tensors(root, "inputs", file), Tensors(root, "outputs", file),
            Tensors(root, "grad_outputs", file), Tensors(root, "grads", file));
    }

    public override string ToString() => $"{Name}: {Call}";

    private JsonElement Param(string name) =>
        _params.TryGetValue(name, out var value)
            ? value
            : throw new KeyNotFoundException($"{Name}.json has no param '{name}' (params: {string.Join(", ", _params.Keys)})");

    private FixtureTensor Get(IReadOnlyDictionary<string, FixtureTensor> section, string sectionName, string name) =>
        section.TryGetValue(name, out var tensor)
            ? tensor
            : throw new KeyNotFoundException($"{Name}.json has no {sectionName} entry '{name}' (has: {string.Join(", ", section.Keys)})");

    private static JsonElement Required(JsonElement element, string property, string file) =>
        element.TryGetProperty(property, out var value) ? value : throw new InvalidDataException($"{file}: missing \"{property}\"");

    private static Dictionary<string, FixtureTensor> Tensors(JsonElement root, string section, string file)
    {
        var result = new Dictionary<string, FixtureTensor>(StringComparer.Ordinal);
        foreach (var entry in Required(root, section, file).EnumerateObject())
        {
            string where = $"{file}: {section}.{entry.Name}";
            string dtype = Required(entry.Value, "dtype", where).GetString()!;
            int[] shape = Required(entry.Value, "shape", where).EnumerateArray().Select(e => e.GetInt32()).ToArray();
            double[] data = Required(entry.Value, "data", where).EnumerateArray().Select(e => e.GetDouble()).ToArray();
            long numel = shape.Aggregate(1L, (a, d) => a * d);
            if (data.Length != numel)
                throw new InvalidDataException($"{where}: {data.Length} values for shape ({string.Join(", ", shape)})");
            result[entry.Name] = new FixtureTensor(entry.Name, dtype, shape, data);
        }
        return result;
    }
}
