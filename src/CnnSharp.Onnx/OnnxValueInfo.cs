namespace CnnSharp.Onnx;

/// <summary>One dimension of a declared ONNX shape: a fixed size, a symbolic name (<c>"batch"</c>), or unknown.</summary>
/// <param name="Value">The fixed size, or null when the dimension is symbolic or unknown.</param>
/// <param name="Param">The symbolic name, or null.</param>
public readonly record struct OnnxDimension(long? Value, string? Param)
{
    /// <summary>True when the dimension has a fixed size.</summary>
    public bool IsFixed => Value.HasValue;

    /// <summary>The size, the symbolic name, or <c>?</c>.</summary>
    public override string ToString() => Value?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? Param ?? "?";
}

/// <summary>A declared graph input, output or intermediate value: name, element type and (optional) shape.</summary>
public sealed class OnnxValueInfo
{
    internal OnnxValueInfo(string name, bool isTensor, OnnxDataType elementType, IReadOnlyList<OnnxDimension>? shape)
    {
        Name = name;
        IsTensor = isTensor;
        ElementType = elementType;
        Shape = shape;
    }

    /// <summary>The value name.</summary>
    public string Name { get; }

    /// <summary>True when the declared type is a tensor (not a sequence, map or optional).</summary>
    public bool IsTensor { get; }

    /// <summary>The tensor element type (<see cref="OnnxDataType.Undefined"/> when not declared or not a tensor).</summary>
    public OnnxDataType ElementType { get; }

    /// <summary>The declared dimensions, or null when the shape is not declared (unknown rank).</summary>
    public IReadOnlyList<OnnxDimension>? Shape { get; }

    /// <summary>The fixed dimensions when every one is fixed, else null.</summary>
    public int[]? FixedShape() =>
        Shape is not null && Shape.All(d => d.Value is >= 0 and <= int.MaxValue) ? Shape.Select(d => (int)d.Value!.Value).ToArray() : null;

    /// <inheritdoc />
    public override string ToString() =>
        $"{Name}: {(IsTensor ? ElementType.ToString() : "non-tensor")} {(Shape is null ? "(unknown shape)" : "(" + string.Join(", ", Shape) + ")")}";
}
