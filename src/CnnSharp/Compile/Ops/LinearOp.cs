using CnnSharp.Kernels;

namespace CnnSharp.Compile.Ops;

/// <summary><c>y = x·Wᵀ + b</c> over the rows of x (all leading dimensions), on the packed GEMM.</summary>
internal sealed class LinearOp(int input, int output, LinearSpec spec, int rows) : CompiledOp([input], output)
{
    private readonly int _in = spec.Weight.Size(1), _out = spec.Weight.Size(0);

    public override string Name => $"Linear({_in}->{_out})";

    public override IEnumerable<Tensor> Parameters => spec.Bias is null ? [spec.Weight] : [spec.Weight, spec.Bias];

    private readonly SmallBatchLinear? _few = rows <= SmallBatchLinear.MaxRows ? new() : null;

    public override void Forward(ExecutionPlan plan)
    {
        if (_few is not null) _few.Forward(plan.Data[Inputs[0]], spec.Weight.Storage, spec.Bias?.Storage, plan.Data[Output], rows, _in, _out);
        else LinearKernels.Forward(plan.Data[Inputs[0]], spec.Weight.Data, spec.Bias is null ? default : spec.Bias.Data, plan.Data[Output], rows, _in, _out);
    }

    public override void Backward(ExecutionPlan plan)
    {
        var dy = plan.Grad[Output]!;
        if (plan.Grad[Inputs[0]] is { } dx) LinearKernels.BackwardInput(dy, spec.Weight.Data, dx, rows, _in, _out);
        if (spec.Weight.RequiresGrad) LinearKernels.BackwardWeight(plan.Data[Inputs[0]], dy, spec.Weight.Grad!.Data, rows, _in, _out);
        if (spec.Bias is { RequiresGrad: true } b) LinearKernels.BackwardBias(dy, b.Grad!.Data, rows, _out);
    }
}
