using System.Globalization;

namespace CnnSharp.Onnx.Runtime;

/// <summary>
/// Builds one operator from its node at session creation: typed attribute access that records which attributes the
/// operator understood (any other attribute is refused afterwards), input/output count checks, the model's opset, and
/// the load-time constant value of inputs that have one. Every problem is reported with the file, node, operator and
/// attribute.
/// </summary>
internal sealed class OpBuilder
{
    private readonly HashSet<string> _consumed = new(StringComparer.Ordinal);
    private readonly Func<int, OnnxValue?> _constantInput;

    public OpBuilder(OnnxNode node, int opset, string source, Func<int, OnnxValue?> constantInput)
    {
        Node = node;
        Opset = opset;
        Source = source;
        _constantInput = constantInput;
    }

    /// <summary>The node being built.</summary>
    public OnnxNode Node { get; }

    /// <summary>The model's standard-domain opset version.</summary>
    public int Opset { get; }

    /// <summary>The model file name (for messages).</summary>
    public string Source { get; }

    /// <summary>Number of input slots (including omitted optional ones).</summary>
    public int InputCount => Node.Inputs.Count;

    /// <summary>Whether input <paramref name="index"/> is present (named).</summary>
    public bool HasInput(int index) => index < Node.Inputs.Count && Node.Inputs[index].Length > 0;

    /// <summary>Whether output <paramref name="index"/> is present (named).</summary>
    public bool HasOutput(int index) => index < Node.Outputs.Count && Node.Outputs[index].Length > 0;

    /// <summary>The value of input <paramref name="index"/> when it is known at load time (initializer or folded constant), else null.</summary>
    public OnnxValue? ConstantInput(int index) => HasInput(index) ? _constantInput(index) : null;

    /// <summary>An <see cref="OnnxUnsupportedException"/> for this node.</summary>
    public OnnxUnsupportedException Unsupported(string detail, string? attribute = null) => new(Source, Node, attribute, detail);

    /// <summary>An <see cref="OnnxFormatException"/> for this node (the model breaks the operator's specification).</summary>
    public OnnxFormatException Invalid(string detail) => new(Source, $"{Node.DisplayName}: {detail}", null);

    /// <summary>Checks the number of input slots and that the required ones are present.</summary>
    public void Inputs(int min, int max)
    {
        if (Node.Inputs.Count < min || Node.Inputs.Count > max)
            throw Invalid($"has {Node.Inputs.Count} inputs, but {Node.OpType} (opset {Opset}) takes {(min == max ? min.ToString(CultureInfo.InvariantCulture) : $"{min} to {max}")}");
        for (int i = 0; i < min; i++)
            if (!HasInput(i)) throw Invalid($"required input #{i} is empty");
    }

    /// <summary>Checks the number of output slots (at least one, at most <paramref name="max"/>).</summary>
    public void Outputs(int max, int min = 1)
    {
        if (Node.Outputs.Count < min || Node.Outputs.Count > max)
            throw Invalid($"has {Node.Outputs.Count} outputs, but {Node.OpType} (opset {Opset}) produces {(min == max ? min.ToString(CultureInfo.InvariantCulture) : $"{min} to {max}")}");
    }

    /// <summary>An INT attribute, or <paramref name="fallback"/> when absent.</summary>
    public long Int(string name, long fallback) => Get(name, OnnxAttributeType.Int) is { } a ? a.Int : fallback;

    /// <summary>A required INT attribute.</summary>
    public long RequiredInt(string name) => Require(name, OnnxAttributeType.Int).Int;

    /// <summary>An INT attribute interpreted as a flag (0 or 1).</summary>
    public bool Flag(string name, bool fallback)
    {
        var a = Get(name, OnnxAttributeType.Int);
        if (a is null) return fallback;
        if (a.Int is not (0 or 1)) throw Unsupported($"attribute '{name}' = {a.Int} is not supported (expected 0 or 1)", name);
        return a.Int == 1;
    }

    /// <summary>A FLOAT attribute, or <paramref name="fallback"/> when absent.</summary>
    public float Float(string name, float fallback) => Get(name, OnnxAttributeType.Float) is { } a ? a.Float : fallback;

    /// <summary>A STRING attribute, or <paramref name="fallback"/> when absent.</summary>
    public string String(string name, string fallback) => Get(name, OnnxAttributeType.String) is { } a ? a.String : fallback;

    /// <summary>A STRING attribute restricted to <paramref name="allowed"/>.</summary>
    public string Choice(string name, string fallback, params string[] allowed)
    {
        string value = String(name, fallback);
        if (Array.IndexOf(allowed, value) < 0)
            throw Unsupported($"attribute '{name}' = \"{value}\" is not supported (supported: {string.Join(", ", allowed)})", name);
        return value;
    }

    /// <summary>An INTS attribute, or null when absent.</summary>
    public long[]? Ints(string name) => Get(name, OnnxAttributeType.Ints) is { } a ? a.Ints.ToArray() : null;

    /// <summary>An INTS attribute converted to int (each value must fit), or null when absent.</summary>
    public int[]? Int32s(string name)
    {
        long[]? values = Ints(name);
        if (values is null) return null;
        var result = new int[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            if (values[i] is < int.MinValue or > int.MaxValue)
                throw Unsupported($"attribute '{name}' value {values[i]} is out of range", name);
            result[i] = (int)values[i];
        }
        return result;
    }

    /// <summary>A FLOATS attribute, or null when absent.</summary>
    public float[]? Floats(string name) => Get(name, OnnxAttributeType.Floats) is { } a ? a.Floats.ToArray() : null;

    /// <summary>A TENSOR attribute, or null when absent.</summary>
    public OnnxTensor? Tensor(string name) => Get(name, OnnxAttributeType.Tensor)?.Tensor;

    /// <summary>Marks an attribute as understood and ignored (e.g. a legacy hint with no effect on the result).</summary>
    public void Ignore(string name) => _consumed.Add(name);

    /// <summary>Whether the node has an attribute <paramref name="name"/> (marking it understood).</summary>
    public bool Has(string name)
    {
        _consumed.Add(name);
        return Node.FindAttribute(name) is not null;
    }

    /// <summary>Refuses every attribute the operator did not read: CnnSharp would otherwise silently ignore its meaning.</summary>
    public void CheckAllAttributesUsed()
    {
        foreach (var a in Node.Attributes)
        {
            if (!_consumed.Contains(a.Name))
                throw Unsupported($"attribute '{a.Name}' is not supported by {Node.OpType} at opset {Opset}", a.Name);
        }
    }

    private OnnxAttribute? Get(string name, OnnxAttributeType type)
    {
        _consumed.Add(name);
        var a = Node.FindAttribute(name);
        if (a is null) return null;
        if (a.Type != type) throw Invalid($"attribute '{name}' is {a.Type.ToString().ToUpperInvariant()}, expected {type.ToString().ToUpperInvariant()}");
        return a;
    }

    private OnnxAttribute Require(string name, OnnxAttributeType type) =>
        Get(name, type) ?? throw Invalid($"required attribute '{name}' is missing");
}
