namespace CnnSharp;

/// <summary>
/// Thrown when tensor shapes or operator parameters are incompatible. The message names the operator,
/// the shapes and the parameters, e.g. <c>Conv2d: input has 3 channels but weight expects 1 (input (2, 3, 28, 28), weight (16, 1, 5, 5), groups 1)</c>.
/// </summary>
public sealed class ShapeException : ArgumentException
{
    /// <summary>Creates the exception with a message that names the op, shapes and parameters.</summary>
    public ShapeException(string message) : base(message) { }

    /// <summary>Creates an empty exception (for serializers).</summary>
    public ShapeException() { }

    /// <summary>Creates the exception wrapping an inner error.</summary>
    public ShapeException(string message, Exception innerException) : base(message, innerException) { }
}
