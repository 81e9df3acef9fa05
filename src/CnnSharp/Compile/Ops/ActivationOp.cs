using CnnSharp.Kernels;

namespace CnnSharp.Compile.Ops;

/// <summary>ReLU, Tanh or Sigmoid, split over the worker threads; backward reads the op's own output
/// (<c>dx += dy·[y &gt; 0]</c>, <c>dy·(1 − y²)</c>, <c>dy·y·(1 − y)</c>).</summary>
internal sealed class ActivationOp : CompiledOp
{
    private readonly ActivationKind _kind;
    private readonly Action<int, int> _forward, _backward;
    private ExecutionPlan? _plan;

    public ActivationOp(int input, int output, ActivationKind kind) : base([input], output)
    {
        _kind = kind;
        _forward = ForwardChunk;
        _backward = BackwardChunk;
    }

    public override string Name => _kind.ToString();

    public override void Forward(ExecutionPlan plan)
    {
        _plan = plan;
        Chunks.Run(plan.Data[Output].Length, _forward);
    }

    private void ForwardChunk(int start, int end)
    {
        var x = _plan!.Data[Inputs[0]].AsSpan(start, end - start);
        var y = _plan.Data[Output].AsSpan(start, end - start);
        switch (_kind)
        {
            case ActivationKind.Relu: ActivationKernels.ReluForward(x, y); break;
            case ActivationKind.Tanh: ActivationKernels.TanhForward(x, y); break;
            default: ActivationKernels.SigmoidForward(x, y); break;
        }
    }

    public override void Backward(ExecutionPlan plan)
    {
        if (plan.Grad[Inputs[0]] is null) return;
        _plan = plan;
        Chunks.Run(plan.Data[Output].Length, _backward);
    }

    private void BackwardChunk(int start, int end)
    {
        var y = _plan!.Data[Output].AsSpan(start, end - start);
        var dy = _plan.Grad[Output].AsSpan(start, end - start);
        var dx = _plan.Grad[Inputs[0]].AsSpan(start, end - start);
        switch (_kind)
        {
            case ActivationKind.Relu: ActivationKernels.ReluBackward(y, dy, dx); break;
            case ActivationKind.Tanh: ActivationKernels.TanhBackward(y, dy, dx); break;
            default: ActivationKernels.SigmoidBackward(y, dy, dx); break;
        }
    }
}
