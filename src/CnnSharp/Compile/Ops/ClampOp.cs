using CnnSharp.Kernels;

namespace CnnSharp.Compile.Ops;

/// <summary><see cref="ClampSpec"/> (ReLU6, ONNX Clip) split over the worker threads; backward reads the op's own output.</summary>
internal sealed class ClampOp : CompiledOp
{
    private readonly float _min, _max;
    private readonly Action<int, int> _forward, _backward;
    private ExecutionPlan? _plan;

    public ClampOp(int input, int output, ClampSpec spec) : base([input], output)
    {
        (_min, _max) = (spec.Min, spec.Max);
        _forward = ForwardChunk;
        _backward = BackwardChunk;
    }

    public override string Name => _min == 0f && _max == 6f ? "ReLU6" : FormattableString.Invariant($"Clamp({_min}, {_max})");

    public override void Forward(ExecutionPlan plan)
    {
        _plan = plan;
        Chunks.Run(plan.Data[Output].Length, _forward);
    }

    private void ForwardChunk(int start, int end) =>
        ClampKernels.Forward(_plan!.Data[Inputs[0]].AsSpan(start, end - start), _plan.Data[Output].AsSpan(start, end - start), _min, _max);

    public override void Backward(ExecutionPlan plan)
    {
        if (plan.Grad[Inputs[0]] is null) return;
        _plan = plan;
        Chunks.Run(plan.Data[Output].Length, _backward);
    }

    private void BackwardChunk(int start, int end)
    {
        var p = _plan!;
        ClampKernels.Backward(p.Data[Output].AsSpan(start, end - start), p.Grad[Output].AsSpan(start, end - start),
            p.Grad[Inputs[0]].AsSpan(start, end - start), _min, _max);
    }
}
