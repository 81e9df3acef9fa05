using CnnSharp.Kernels;

namespace CnnSharp.Compile.Ops;

/// <summary>Average pooling.</summary>
internal sealed class AvgPool2dOp(int input, int output, AvgPool2dSpec spec) : CompiledOp([input], output)
{
    public override string Name => "AvgPool2d";

    public override void Forward(ExecutionPlan plan) =>
        Pool2dKernels.AvgForward(plan.Data[Inputs[0]], plan.Data[Output], spec.Geometry, spec.CountIncludePad, spec.DivisorOverride);

    public override void Backward(ExecutionPlan plan)
    {
        if (plan.Grad[Inputs[0]] is { } dx) Pool2dKernels.AvgBackward(plan.Grad[Output], dx, spec.Geometry, spec.CountIncludePad, spec.DivisorOverride);
    }
}

/// <summary>Adaptive average pooling (global average pooling when the output is 1x1).</summary>
internal sealed class AdaptiveAvgPool2dOp(int input, int output, AdaptivePool2dGeometry g) : CompiledOp([input], output)
{
    public override string Name => "AdaptiveAvgPool2d";

    public override void Forward(ExecutionPlan plan) => AdaptivePool2dKernels.AvgForward(plan.Data[Inputs[0]], plan.Data[Output], g);

    public override void Backward(ExecutionPlan plan)
    {
        if (plan.Grad[Inputs[0]] is { } dx) AdaptivePool2dKernels.AvgBackward(plan.Grad[Output], dx, g);
    }
}
