using CnnSharp.Autograd;
using CnnSharp.Compile;
using CnnSharp.Modules;

namespace CnnSharp.Onnx;

/// <summary>
/// One traced forward pass for <see cref="OnnxExporter"/>: the ops the compiled executor's <see cref="Tracer"/> records,
/// each with the module that ran it (its state-dict path and type), so nodes are named after modules and an op without an
/// ONNX form is reported against the module that used it.
/// </summary>
internal sealed class ExportTrace
{
    private ExportTrace(Tensor input, Tensor output, List<TracedOp> ops, List<(string Path, Module Module)> owners)
    {
        Input = input;
        Output = output;
        Ops = ops;
        Owners = owners;
    }

    /// <summary>The traced input (value <c>input</c> of the graph).</summary>
    public Tensor Input { get; }

    /// <summary>What the model returned.</summary>
    public Tensor Output { get; }

    /// <summary>The recorded ops in execution order.</summary>
    public List<TracedOp> Ops { get; }

    /// <summary>For each op, the innermost registered module whose forward was running when it was recorded.</summary>
    public List<(string Path, Module Module)> Owners { get; }

    /// <summary>
    /// Runs <paramref name="model"/> (already in eval mode) once on a uniform random input of <paramref name="inputShape"/>
    /// with the tracer and a forward observer installed; buffers are restored afterwards.
    /// </summary>
    /// <exception cref="ShapeException">The model rejects the input; the message names the innermost module that did.</exception>
    public static ExportTrace Capture(Module model, Shape inputShape)
    {
        var paths = new Dictionary<Module, string>(ReferenceEqualityComparer.Instance);
        foreach (var (path, module) in model.NamedModules()) paths.TryAdd(module, path);
        var tracer = new Tracer();
        var observer = new Attribution(tracer, paths, model);
        var input = Tensor.Uniform(new Generator(0x5eed), inputShape, -1f, 1f).RequiresGrad_();
        var buffers = model.NamedBuffers().Select(b => (b.Value, b.Value.ToArray())).ToList();
        Tensor output;
        try
        {
            using var grad = GradMode.EnableGrad();
            using var scope = Tracer.Begin(tracer);
            using var observing = ForwardObserver.Install(observer);
            output = model.Call(input);
        }
        catch (ShapeException e)
        {
            var (path, module) = observer.Innermost;
            throw new ShapeException($"OnnxExporter: module '{(path.Length == 0 ? "<root>" : path)}' ({module.GetType().Name}) rejects its input (model input {inputShape}): {e.Message}", e);
        }
        finally
        {
            // Eval-mode batch norms leave their statistics alone, but a module may update buffers in any mode.
            foreach (var (tensor, saved) in buffers) saved.CopyTo(tensor.Data);
        }
        observer.Flush();
        return new ExportTrace(input, output, tracer.Ops, observer.Owners);
    }

    /// <summary>Assigns each recorded op to the module on top of the call stack when it was recorded.</summary>
    private sealed class Attribution(Tracer tracer, Dictionary<Module, string> paths, Module root) : ForwardObserver
    {
        private readonly List<(string Path, Module Module)> _stack = [];

        public List<(string Path, Module Module)> Owners { get; } = [];

        /// <summary>The innermost registered module still running (the one a forward exception came from).</summary>
        public (string Path, Module Module) Innermost => _stack.Count > 0 ? _stack[^1] : ("", root);

        public override void Enter(Module module, ReadOnlySpan<Tensor> inputs)
        {
            Flush();
            // A module built inside a forward (not registered) belongs to its caller: ops keep the caller's path.
            _stack.Add(paths.TryGetValue(module, out var path) ? (path, module) : Innermost);
        }

        public override void Exit(Module module, Tensor output)
        {
            Flush();
            if (_stack.Count > 0) _stack.RemoveAt(_stack.Count - 1);
        }

        public void Flush()
        {
            var owner = Innermost;
            while (Owners.Count < tracer.Ops.Count) Owners.Add(owner);
        }
    }
}
