using CnnSharp.Kernels;

namespace CnnSharp.Compile.Ops;

/// <summary>Max pooling; the 2x2/2 case runs <see cref="MaxPool2x2Kernels"/> plane by plane over the threads, height-1
/// planes with stride = kernel (a 1-D <c>MaxPool1d(k)</c>) in training plans <see cref="MaxPoolRowKernels"/> when <see cref="RowWindows"/>,
/// others the general kernel. Training plans keep the argmax in a preallocated buffer for backward.</summary>
internal sealed class MaxPool2dOp : CompiledOp
{
    private readonly Pool2dGeometry _g;
    private readonly int[] _argmax;
    private readonly bool _fast;
    private readonly bool _row;
    private readonly Action<int, int> _forward;
    private ExecutionPlan? _plan;
    private IsaLevel _level;

    public MaxPool2dOp(int input, int output, Pool2dGeometry g, bool training) : base([input], output)
    {
        _g = g;
        _fast = MaxPool2x2Kernels.Supports(g);
        // Inference plans need no argmax: there the general kernel's vectorised path is faster (measured, conv1d-ab).
        _row = !_fast && training && RowWindows && MaxPoolRowKernels.Supports(g);
        _argmax = training || _fast || _row ? new int[g.Planes * g.OutH * g.OutW] : [];
        _forward = ForwardPlanes;
    }

    /// <summary>Height-1 non-overlapping windows (1-D max pooling) on <see cref="MaxPoolRowKernels"/> instead of the general
    /// kernel (read when the op is planned; the same bits; <c>conv1d-ab --switch rowpool</c> A/Bs it).</summary>
    internal static bool RowWindows { get; set; } = true;

    public override string Name => _g.KH == 1 && _g.H == 1 ? $"MaxPool1d({_g.KW}/{_g.StrideW})" : $"MaxPool2d({_g.KH}x{_g.KW}/{_g.StrideH})";

    public override void Forward(ExecutionPlan plan)
    {
        if (!_fast && !_row)
        {
            Pool2dKernels.MaxForward(plan.Data[Inputs[0]], plan.Data[Output], _argmax, _g);
            return;
        }
        _plan = plan;
        _level = Isa.Level; // resolved here: the level scope does not flow into the worker threads
        Parallelism.For(_g.Planes, _forward, Math.Max(1, 4096 / Math.Max(1, _g.H * _g.W)));
    }

    private void ForwardPlanes(int p0, int p1)
    {
        int inPlane = _g.H * _g.W, outPlane = _g.OutH * _g.OutW;
        var x = _plan!.Data[Inputs[0]];
        var y = _plan.Data[Output];
        if (_row)
        {
            for (int p = p0; p < p1; p++)
                MaxPoolRowKernels.ForwardPlane(x.AsSpan(p * inPlane, inPlane), y.AsSpan(p * outPlane, outPlane), _argmax.AsSpan(p * outPlane, outPlane), _g.KW, _level);
            return;
        }
        for (int p = p0; p < p1; p++)
            MaxPool2x2Kernels.ForwardPlane(x.AsSpan(p * inPlane, inPlane), y.AsSpan(p * outPlane, outPlane), _argmax.AsSpan(p * outPlane, outPlane),
                _g.W, _g.OutH, _g.OutW);
    }

    public override void Backward(ExecutionPlan plan)
    {
        if (plan.Grad[Inputs[0]] is { } dx) Pool2dKernels.MaxBackward(plan.Grad[Output], _argmax, dx, _g);
    }
}
