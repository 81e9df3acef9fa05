using System.Numerics.Tensors;
using CnnSharp.Autograd;

namespace CnnSharp.Compile.Ops;

/// <summary>
/// A graph break: an op without a compiled form, run inside the plan through its eager implementation with autograd.
/// Its value inputs are the plan's buffers wrapped as tensors (no copy); its output is copied into the plan's buffer;
/// backward runs the island's autograd graph from the plan's output gradient and adds the input gradients into the
/// plan's, while parameters the op reads directly accumulate into their own <c>Grad</c> as in eager mode.
/// </summary>
/// <remarks>Islands allocate as eager ops do (their outputs and autograd nodes); the compiled ops around them do not.</remarks>
internal sealed class EagerOp : CompiledOp
{
    private readonly string _name;
    private readonly Func<Tensor[], Tensor> _replay;
    private readonly Tensor[] _template;
    private readonly (int Slot, int Value)[] _values;
    private readonly Shape[] _shapes;
    private readonly Tensor[] _args;
    private Tensor? _output;

    /// <param name="name">The autograd node's name (for <see cref="CompiledModel.Describe"/>).</param>
    /// <param name="replay">Recomputes the op from its inputs in the recorded order.</param>
    /// <param name="template">The recorded inputs: parameters and constants are used as they are.</param>
    /// <param name="values">Which input slots read which plan values.</param>
    /// <param name="shapes">The plan's value shapes.</param>
    /// <param name="output">The output value.</param>
    public EagerOp(string name, Func<Tensor[], Tensor> replay, Tensor[] template, (int Slot, int Value)[] values, Shape[] shapes, int output)
        : base([.. values.Select(v => v.Value)], output)
    {
        _name = name;
        _replay = replay;
        _template = template;
        _values = values;
        _shapes = shapes;
        _args = (Tensor[])template.Clone();
    }

    public override string Name => $"eager {_name} (graph break)";

    public override IEnumerable<Tensor> Parameters =>
        _template.Where((t, i) => t.RequiresGrad && !_values.Any(v => v.Slot == i));

    public override void Forward(ExecutionPlan plan)
    {
        bool grad = plan.Grad[Output] is not null;
        foreach (var (slot, value) in _values)
        {
            var t = new Tensor(plan.Data[value], _shapes[value]);
            if (grad && plan.Grad[value] is not null) t.RequiresGrad = true;
            _args[slot] = t;
        }
        using (grad ? GradMode.EnableGrad() : GradMode.NoGrad()) _output = _replay(_args);
        _output.Data.CopyTo(plan.Data[Output]);
    }

    public override void Backward(ExecutionPlan plan)
    {
        if (_output is not { RequiresGrad: true } output) return;
        output.Backward(new Tensor(plan.Grad[Output]!, _shapes[Output]));
        foreach (var (slot, value) in _values)
            if (plan.Grad[value] is { } g && _args[slot].Grad is { } ag) TensorPrimitives.Add(g, ag.Data, g);
    }
}
