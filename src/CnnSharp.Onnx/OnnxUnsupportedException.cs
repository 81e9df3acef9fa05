namespace CnnSharp.Onnx;

/// <summary>
/// Thrown when an ONNX model is well-formed but uses something CnnSharp's runtime does not implement: an operator, an
/// operator-set version, an attribute or an attribute value. Raised while the <see cref="OnnxSession"/> is built, never
/// mid-run. The message names the file, the node, the operator and the attribute, e.g.
/// <c>model.onnx: node 'Pad_3' (Pad): attribute 'mode' = "wrap" is not supported (supported: constant, reflect, edge)</c>.
/// </summary>
public sealed class OnnxUnsupportedException : NotSupportedException
{
    /// <summary>Creates the exception with a complete message.</summary>
    public OnnxUnsupportedException(string message) : base(message) { }

    /// <summary>Creates an empty exception (for serializers).</summary>
    public OnnxUnsupportedException() { }

    /// <summary>Creates the exception wrapping an inner error.</summary>
    public OnnxUnsupportedException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>Creates the exception for a node: the message is <c>"{source}: {node}: {detail}"</c>.</summary>
    /// <param name="source">The model file or source name.</param>
    /// <param name="node">The node, or null for model-level problems (such as the opset version).</param>
    /// <param name="attributeName">The attribute concerned, if any.</param>
    /// <param name="detail">What is not supported.</param>
    public OnnxUnsupportedException(string source, OnnxNode? node, string? attributeName, string detail)
        : base(node is null ? $"{source}: {detail}" : $"{source}: {node.DisplayName}: {detail}")
    {
        ModelSource = source;
        NodeName = node?.Name;
        OpType = node?.OpType;
        AttributeName = attributeName;
    }

    /// <summary>The model file or source name, when known.</summary>
    public string? ModelSource { get; }

    /// <summary>The node's name (may be empty for unnamed nodes), or null for model-level problems.</summary>
    public string? NodeName { get; }

    /// <summary>The node's operator, or null for model-level problems.</summary>
    public string? OpType { get; }

    /// <summary>The attribute concerned, or null when the problem is not about one attribute.</summary>
    public string? AttributeName { get; }
}
