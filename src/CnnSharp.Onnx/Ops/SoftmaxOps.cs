using CnnSharp.Kernels;
using CnnSharp.Onnx.Runtime;

namespace CnnSharp.Onnx.Ops;

/// <summary>
/// Softmax and LogSoftmax: <c>y = exp(x − max) / Σ exp(x − max)</c> (or its logarithm), computed stably. From opset 13
/// the sum runs along the single dimension <c>axis</c> (default −1); before opset 13 the input is viewed as a matrix
/// (d0·…·d(axis−1), d(axis)·…·d(n−1)) with <c>axis</c> default 1 and each row is normalised.
/// </summary>
internal sealed class SoftmaxOp : OnnxOp
{
    private readonly bool _log;
    private readonly bool _perAxis;
    private readonly long _axis;

    public SoftmaxOp(OpBuilder b, bool log)
    {
        b.Inputs(1, 1);
        b.Outputs(1);
        _log = log;
        _perAxis = b.Opset >= 13;
        _axis = b.Int("axis", _perAxis ? -1 : 1);
    }

    public override void Execute(OpContext ctx, ReadOnlySpan<OnnxValue?> inputs, Span<OnnxValue?> outputs)
    {
        var x = inputs[0]!;
        string op = _log ? "LogSoftmax" : "Softmax";
        if (!x.IsFloat) throw new ShapeException($"{op}: expected a floating-point input, got {x}");
        var y = ctx.Floats((int[])x.Shape.Clone());
        int rank = x.Rank;
        int outer, size, inner;
        if (rank == 0)
        {
            (outer, size, inner) = (1, 1, 1);
        }
        else if (_perAxis)
        {
            int axis = Layout.Axis(_axis, rank, op);
            (outer, size, inner) = (Layout.Product(x.Shape, 0, axis), x.Shape[axis], Layout.Product(x.Shape, axis + 1, rank));
        }
        else
        {
            // Opsets before 13 coerce to 2-D; axis may equal the rank (then each row has one element).
            long a = _axis < 0 ? _axis + rank : _axis;
            if (a < 0 || a > rank) throw new ShapeException($"{op}: axis {_axis} is out of range for input {Shape.Format(x.Shape)}");
            (outer, size, inner) = (Layout.Product(x.Shape, 0, (int)a), Layout.Product(x.Shape, (int)a, rank), 1);
        }
        if (x.Count > 0) SoftmaxKernels.Forward(x.Floats, y.Floats, outer, size, inner, _log);
        outputs[0] = y;
    }
}
