using CnnSharp.Autograd;

namespace CnnSharp.Compile;

/// <summary>
/// Records the operations of one forward pass while <c>Module.Compile</c> traces a model.
/// </summary>
/// <remarks>
/// Capture has two hooks. Every differentiable operation attaches an autograd node through
/// <c>Tensor.SetGradFn</c>, which calls <see cref="OnNode"/>: that is the single place that sees *every* op, so an op the
/// compiler does not understand can never be mistaken for a constant. Ops with a compiled form then describe themselves
/// with <see cref="Describe"/> (an <see cref="OpSpec"/>: the parameters and geometry the executor needs). A node left
/// without a description makes the capture fail over to eager execution, with the op's node name as the reason.
/// Tracing runs with gradients enabled and an input that requires grad, so every op downstream of the input records.
/// </remarks>
internal sealed class Tracer
{
    [ThreadStatic] private static Tracer? t_current;

    private readonly Dictionary<Tensor, int> _index = new(ReferenceEqualityComparer.Instance);

    /// <summary>The tracer of this thread, or null when no capture runs (the ops' fast check).</summary>
    public static Tracer? Current => t_current;

    /// <summary>The recorded ops in execution order.</summary>
    public List<TracedOp> Ops { get; } = [];

    /// <summary>Starts recording on this thread; dispose the result to stop.</summary>
    public static Scope Begin(Tracer tracer)
    {
        if (t_current is not null) throw new InvalidOperationException("Compile: a capture is already running on this thread");
        t_current = tracer;
        return new Scope();
    }

    /// <summary>Called by <c>Tensor.SetGradFn</c> for every node attached while tracing.</summary>
    public void OnNode(Tensor output, Node node)
    {
        _index[output] = Ops.Count;
        Ops.Add(new TracedOp(node.Name, [.. node.Inputs], output));
    }

    /// <summary>Attaches the compiled form to the op that produced <paramref name="output"/> (no-op when it did not record).</summary>
    public static void Describe(Tensor output, OpSpec spec)
    {
        var t = t_current;
        if (t is null || !t._index.TryGetValue(output, out int i)) return;
        t.Ops[i].Spec = spec;
    }

    /// <summary>Ends the capture.</summary>
    public readonly struct Scope : IDisposable
    {
        public void Dispose() => t_current = null;
    }
}

/// <summary>One recorded op: the autograd node's name, its tensor inputs, its output and (when known) its compiled form.</summary>
internal sealed class TracedOp(string name, Tensor[] inputs, Tensor output)
{
    public string Name { get; } = name;
    public Tensor[] Inputs { get; } = inputs;
    public Tensor Output { get; } = output;
    public OpSpec? Spec { get; set; }
}
