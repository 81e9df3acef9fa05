namespace CnnSharp.Modules;

/// <summary>A state dict does not fit a module: missing or unexpected keys, or shape mismatches (all listed together).</summary>
public sealed class StateDictException : InvalidOperationException
{
    /// <summary>Creates the exception with a message listing every problem.</summary>
    public StateDictException(string message) : base(message) { }

    /// <summary>Creates an empty exception.</summary>
    public StateDictException() { }

    /// <summary>Creates the exception wrapping an inner error.</summary>
    public StateDictException(string message, Exception innerException) : base(message, innerException) { }
}
