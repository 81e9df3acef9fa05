namespace CnnSharp.IO;

/// <summary>
/// Thrown when a <c>.pt</c> file's pickle asks for something a state dict never needs and that could run code: a global
/// outside the allow-list (<c>posix.system</c>, <c>builtins.eval</c>, <c>subprocess.Popen</c>, a model class), an
/// opcode that instantiates arbitrary classes (INST, OBJ, NEWOBJ), or a call or BUILD on anything but the allowed
/// functions. Nothing from the file is ever imported, called or executed: the reader stops at the first such request.
/// </summary>
/// <remarks>
/// The allow-list is <c>collections.OrderedDict</c>, <c>torch._utils._rebuild_tensor_v2</c>,
/// <c>torch._utils._rebuild_parameter</c> and the storage types <c>torch.FloatStorage</c>, <c>DoubleStorage</c>,
/// <c>HalfStorage</c>, <c>BFloat16Storage</c>, <c>LongStorage</c>, <c>IntStorage</c>, <c>ShortStorage</c>,
/// <c>CharStorage</c>, <c>ByteStorage</c> and <c>BoolStorage</c> (the latter only inside a storage reference).
/// A whole pickled model (<c>torch.save(model)</c>) names its class and is refused here: save
/// <c>model.state_dict()</c> instead.
/// </remarks>
public sealed class UnsafePickleException : TorchFormatException
{
    /// <summary>Creates the exception with a message.</summary>
    public UnsafePickleException(string message) : base(message) { }

    /// <summary>Creates an empty exception (for serializers).</summary>
    public UnsafePickleException() { }

    /// <summary>Creates the exception wrapping an inner error.</summary>
    public UnsafePickleException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>Creates the exception for one refused request.</summary>
    /// <param name="fileName">The file (or source) name.</param>
    /// <param name="entry">The pickle's archive entry (<c>archive/data.pkl</c>).</param>
    /// <param name="offset">Byte offset of the opcode in the pickle.</param>
    /// <param name="opcode">The opcode's name (<c>GLOBAL</c>, <c>STACK_GLOBAL</c>, <c>INST</c>, <c>OBJ</c>, <c>REDUCE</c>, <c>BUILD</c>).</param>
    /// <param name="global">The <c>module.name</c> involved, or null when the opcode names none (OBJ).</param>
    /// <param name="problem">What was refused.</param>
    public UnsafePickleException(string fileName, string entry, long offset, string opcode, string? global, string problem)
        : base(fileName, entry, offset, problem)
    {
        Opcode = opcode;
        Global = global;
    }

    /// <summary>The opcode that was refused.</summary>
    public string? Opcode { get; }

    /// <summary>The global (<c>module.name</c>, e.g. <c>posix.system</c>) that was refused, or null when the opcode names none.</summary>
    public string? Global { get; }
}
