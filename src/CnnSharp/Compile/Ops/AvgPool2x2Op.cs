using CnnSharp.Kernels;

namespace CnnSharp.Compile.Ops;

/// <summary>
/// 2x2, stride-2, unpadded average pooling (<see cref="AvgPool2x2Kernels"/>): vectorised rows, planes split over the
/// worker threads, forward and backward; no allocation per call (the plane bodies are delegates made once).
/// </summary>
internal sealed class AvgPool2x2Op : CompiledOp
{
    private readonly Pool2dGeometry _g;
    private readonly IsaLevel _level;
    private readonly Action<int, int> _forward, _backward;
    private ExecutionPlan? _plan;

    public AvgPool2x2Op(int input, int output, Pool2dGeometry g) : base([input], output)
    {
        _g = g;
        _level = Isa.Level;
        _forward = ForwardPlanes;
        _backward = BackwardPlanes;
    }

    /// <summary>Whether plans use this op for the pooling they can (on by default; the benchmarks switch it off to A/B in one process).</summary>
    internal static bool Enabled { get; set; } = true;

    /// <summary>Whether <paramref name="spec"/> is pooling this op computes (2x2/2, no padding, divisor 4).</summary>
    public static bool Takes(AvgPool2dSpec spec) =>
        Enabled && AvgPool2x2Kernels.Supports(spec.Geometry) && (spec.DivisorOverride <= 0 || spec.DivisorOverride == 4);

    public override string Name => "AvgPool2x2";

    // About 16 K input floats per chunk, as the element-wise ops (Chunks).
    private int MinPlanes => Math.Max(1, (1 << 14) / Math.Max(1, _g.H * _g.W));

    public override void Forward(ExecutionPlan plan)
    {
        _plan = plan;
        Parallelism.For(_g.N * _g.C, _forward, MinPlanes);
    }

    private void ForwardPlanes(int p0, int p1) =>
        AvgPool2x2Kernels.Forward(_level, _plan!.Data[Inputs[0]], _plan.Data[Output], _g.H, _g.W, p0, p1);

    public override void Backward(ExecutionPlan plan)
    {
        if (plan.Grad[Inputs[0]] is null) return;
        _plan = plan;
        Parallelism.For(_g.N * _g.C, _backward, MinPlanes);
    }

    private void BackwardPlanes(int p0, int p1) =>
        AvgPool2x2Kernels.Backward(_level, _plan!.Grad[Output], _plan.Grad[Inputs[0]], _g.H, _g.W, p0, p1);
}
