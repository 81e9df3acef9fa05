using System.Numerics.Tensors;
using CnnSharp.Kernels;

namespace CnnSharp.Compile.Ops;

/// <summary>Element-wise <c>y = relu?(a + b)</c> for two values of one shape (the residual connection), split over the
/// worker threads; backward passes <c>dy·[y &gt; 0]</c> (or dy) to both inputs.</summary>
internal sealed class AddOp : CompiledOp
{
    private readonly bool _relu;
    private readonly Action<int, int> _forward, _backward;
    private ExecutionPlan? _plan;

    public AddOp(int a, int b, int output, bool relu) : base([a, b], output)
    {
        _relu = relu;
        _forward = ForwardChunk;
        _backward = BackwardChunk;
    }

    public override string Name => _relu ? "Add+ReLU" : "Add";

    public override void Forward(ExecutionPlan plan)
    {
        _plan = plan;
        Chunks.Run(plan.Data[Output].Length, _forward);
    }

    private void ForwardChunk(int start, int end)
    {
        var p = _plan!;
        var y = p.Data[Output].AsSpan(start, end - start);
        TensorPrimitives.Add(p.Data[Inputs[0]].AsSpan(start, end - start), p.Data[Inputs[1]].AsSpan(start, end - start), y);
        if (_relu) TensorPrimitives.Max(y, 0f, y);
    }

    public override void Backward(ExecutionPlan plan)
    {
        _plan = plan;
        Chunks.Run(plan.Data[Output].Length, _backward);
    }

    private void BackwardChunk(int start, int end)
    {
        var p = _plan!;
        var dy = p.Grad[Output].AsSpan(start, end - start);
        var y = p.Data[Output].AsSpan(start, end - start);
        foreach (int input in Inputs)
        {
            if (p.Grad[input] is not { } g) continue;
            var dx = g.AsSpan(start, end - start);
            if (_relu) ActivationKernels.ReluBackward(y, dy, dx);
            else TensorPrimitives.Add(dx, dy, dx);
        }
    }
}
