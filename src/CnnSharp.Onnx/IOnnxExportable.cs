using CnnSharp.Modules;

namespace CnnSharp.Onnx;

/// <summary>
/// Lets a custom module with its own <see cref="Module.Forward(Tensor)"/> be exported by <see cref="OnnxExporter"/>: it states
/// its forward pass as a chain of modules (its children, plus stateless glue such as a <see cref="Flatten"/> for a
/// reshape), each exported in turn.
/// </summary>
/// <remarks>
/// The exporter checks the claim: it runs the chain and <see cref="Module.Forward(Tensor)"/> on the same input and refuses the
/// export when the outputs differ, so a chain that does not describe the forward pass never yields a wrong model.
/// </remarks>
/// <example><code>
/// public IEnumerable&lt;KeyValuePair&lt;string, Module&gt;&gt; OnnxSequence() =>
///     [new("layer1", Layer1), new("layer2", Layer2), new("flatten", new Flatten()), new("fc", Fc)];
/// </code></example>
public interface IOnnxExportable
{
    /// <summary>
    /// The modules <see cref="Module.Forward(Tensor)"/> applies, in order, each with its name (a child's registered name, so
    /// ONNX initializers carry the state-dict keys; any new name for glue modules).
    /// </summary>
    IEnumerable<KeyValuePair<string, Module>> OnnxSequence();
}
