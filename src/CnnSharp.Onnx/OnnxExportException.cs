namespace CnnSharp.Onnx;

/// <summary>
/// A module cannot be exported to ONNX: its type has no ONNX mapping, or its settings have no ONNX equivalent
/// (e.g. a BatchNorm without running statistics). The message names the module's path in the model and its type,
/// e.g. <c>OnnxExporter: module 'layer3.1' (MyBlock): ...</c>.
/// </summary>
public sealed class OnnxExportException : NotSupportedException
{
    /// <summary>Creates the exception for the module at <paramref name="modulePath"/> of type <paramref name="moduleType"/>.</summary>
    /// <param name="modulePath">The module's dotted path in the model (<c>""</c> for the model itself).</param>
    /// <param name="moduleType">The module's type name.</param>
    /// <param name="detail">What cannot be exported and why.</param>
    public OnnxExportException(string modulePath, string moduleType, string detail)
        : base($"OnnxExporter: module '{(modulePath.Length == 0 ? "<root>" : modulePath)}' ({moduleType}): {detail}")
    {
        ModulePath = modulePath;
        ModuleType = moduleType;
    }

    /// <summary>Creates the exception with a message.</summary>
    public OnnxExportException(string message) : base(message) { }

    /// <summary>Creates an empty exception.</summary>
    public OnnxExportException() { }

    /// <summary>Creates the exception wrapping an inner error.</summary>
    public OnnxExportException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>The dotted path of the module that failed (<c>""</c> for the root), when known.</summary>
    public string? ModulePath { get; }

    /// <summary>The type name of the module that failed, when known.</summary>
    public string? ModuleType { get; }
}
