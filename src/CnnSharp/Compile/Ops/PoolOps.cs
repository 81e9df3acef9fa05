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

/// <summary>Adaptive average pooling; global average pooling (1x1 output) takes a plane-sum fast path over the threads:
/// <c>y[p] = Σ x[p, :] / (H·W)</c>, backward <c>dx[p, :] += dy[p] / (H·W)</c>.</summary>
internal sealed class AdaptiveAvgPool2dOp : CompiledOp
{
    private readonly AdaptivePool2dGeometry _g;
    private readonly bool _global;
    private readonly Action<int, int> _forward, _backward;
    private ExecutionPlan? _plan;

    public AdaptiveAvgPool2dOp(int input, int output, AdaptivePool2dGeometry g) : base([input], output)
    {
        _g = g;
        _global = g.OutH == 1 && g.OutW == 1;
        _forward = ForwardPlanes;
        _backward = BackwardPlanes;
    }

    public override string Name => _global ? "GlobalAvgPool2d" : "AdaptiveAvgPool2d";

    /// <summary>Whether the output is 1x1 (global average pooling).</summary>
    internal bool Global => _global;

    private int MinPlanes => Math.Max(1, 16384 / Math.Max(1, _g.H * _g.W));

    public override void Forward(ExecutionPlan plan)
    {
        if (!_global)
        {
            AdaptivePool2dKernels.AvgForward(plan.Data[Inputs[0]], plan.Data[Output], _g);
            return;
        }
        _plan = plan;
        Kernels.Parallelism.For(_g.Planes, _forward, MinPlanes);
    }

    private void ForwardPlanes(int p0, int p1)
    {
        int s = _g.H * _g.W;
        var x = _plan!.Data[Inputs[0]];
        var y = _plan.Data[Output];
        for (int p = p0; p < p1; p++) y[p] = System.Numerics.Tensors.TensorPrimitives.Sum(x.AsSpan(p * s, s)) / s;
    }

    public override void Backward(ExecutionPlan plan)
    {
        if (plan.Grad[Inputs[0]] is not { } dx) return;
        if (!_global)
        {
            AdaptivePool2dKernels.AvgBackward(plan.Grad[Output], dx, _g);
            return;
        }
        _plan = plan;
        Kernels.Parallelism.For(_g.Planes, _backward, MinPlanes);
    }

    private void BackwardPlanes(int p0, int p1)
    {
        int s = _g.H * _g.W;
        var dy = _plan!.Grad[Output]!;
        var dx = _plan.Grad[Inputs[0]]!;
        for (int p = p0; p < p1; p++) System.Numerics.Tensors.TensorPrimitives.Add(dx.AsSpan(p * s, s), dy[p] / s, dx.AsSpan(p * s, s));
    }
}
