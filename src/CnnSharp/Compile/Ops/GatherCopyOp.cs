using CnnSharp.Kernels;

namespace CnnSharp.Compile.Ops;

/// <summary>
/// <see cref="GatherCopySpec"/> (Transpose, Slice, the channel shuffle): the output is walked in rows of its last
/// dimension after merging dimensions that are contiguous in the source and dropping size-1 ones, so a channel shuffle
/// copies whole H·W planes and a channel slice one run per image; rows are split over the worker threads. Backward
/// adds each dy row back at the element it was read from (the spec guarantees no element is read twice).
/// </summary>
internal sealed class GatherCopyOp : CompiledOp
{
    private readonly int[] _dims;      // merged output dimensions except the last, outermost first
    private readonly long[] _strides;  // their source strides
    private readonly int _run;         // the last merged dimension's length
    private readonly long _step;       // its source stride
    private readonly long _offset;
    private readonly int _rows;
    private readonly Action<int, int> _forward, _backward;
    private ExecutionPlan? _plan;

    public GatherCopyOp(int input, int output, GatherCopySpec spec) : base([input], output)
    {
        var dims = new List<int>();
        var strides = new List<long>();
        for (int d = 0; d < spec.Shape.Length; d++)
        {
            if (spec.Shape[d] == 1) continue;
            if (dims.Count > 0 && strides[^1] == spec.Strides[d] * spec.Shape[d])
            {
                dims[^1] *= spec.Shape[d];
                strides[^1] = spec.Strides[d];
                continue;
            }
            dims.Add(spec.Shape[d]);
            strides.Add(spec.Strides[d]);
        }
        if (dims.Count == 0) { dims.Add(1); strides.Add(1); }
        _run = dims[^1];
        _step = strides[^1];
        _dims = [.. dims.Take(dims.Count - 1)];
        _strides = [.. strides.Take(strides.Count - 1)];
        _offset = spec.Offset;
        _rows = _dims.Aggregate(1, (a, b) => a * b);
        _forward = ForwardChunk;
        _backward = BackwardChunk;
    }

    public override string Name => $"Copy[{string.Join("x", _dims.Append(_run))}]";

    private int MinRows => Math.Max(1, (1 << 14) / Math.Max(1, _run));

    public override void Forward(ExecutionPlan plan)
    {
        _plan = plan;
        Parallelism.For(_rows, _forward, MinRows);
    }

    /// <summary>The source index of row <paramref name="row"/>'s first element.</summary>
    private long Source(int row)
    {
        long at = _offset;
        for (int d = _dims.Length - 1; d >= 0; d--)
        {
            at += row % _dims[d] * _strides[d];
            row /= _dims[d];
        }
        return at;
    }

    private void ForwardChunk(int start, int end)
    {
        var x = _plan!.Data[Inputs[0]];
        var y = _plan.Data[Output];
        for (int r = start; r < end; r++)
        {
            long s = Source(r);
            var dst = y.AsSpan(r * _run, _run);
            if (_step == 1) x.AsSpan((int)s, _run).CopyTo(dst);
            else for (int j = 0; j < _run; j++) dst[j] = x[s + j * _step];
        }
    }

    public override void Backward(ExecutionPlan plan)
    {
        if (plan.Grad[Inputs[0]] is null) return;
        _plan = plan;
        Parallelism.For(_rows, _backward, MinRows);
    }

    private void BackwardChunk(int start, int end)
    {
        var dx = _plan!.Grad[Inputs[0]]!;
        var dy = _plan.Grad[Output]!;
        for (int r = start; r < end; r++)
        {
            long s = Source(r);
            int from = r * _run;
            for (int j = 0; j < _run; j++) dx[s + j * _step] += dy[from + j];
        }
    }
}
