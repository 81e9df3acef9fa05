using System.Numerics.Tensors;
using CnnSharp.Kernels;

namespace CnnSharp.Compile.Ops;

/// <summary>
/// <see cref="ConcatSpec"/>: each input's block of <c>shape[axis]·inner</c> elements copied to its offset in every
/// outer slice of the output (outer: the product of the dimensions before the axis, inner: after it), the outer slices
/// split over the worker threads. Backward adds each block of dy back into its input's gradient.
/// </summary>
internal sealed class CatOp : CompiledOp
{
    private readonly int _outer, _outBlock;
    private readonly int[] _blocks, _offsets;
    private readonly Action<int, int> _forward, _backward;
    private ExecutionPlan? _plan;

    public CatOp(int[] inputs, int output, int axis, Shape[] shapes) : base(inputs, output)
    {
        var y = shapes[output];
        int inner = 1;
        for (int d = axis + 1; d < y.Rank; d++) inner *= y[d];
        _outer = 1;
        for (int d = 0; d < axis; d++) _outer *= y[d];
        _outBlock = y[axis] * inner;
        _blocks = new int[inputs.Length];
        _offsets = new int[inputs.Length];
        int offset = 0;
        for (int i = 0; i < inputs.Length; i++)
        {
            _blocks[i] = shapes[inputs[i]][axis] * inner;
            _offsets[i] = offset;
            offset += _blocks[i];
        }
        if (offset != _outBlock) throw new InvalidOperationException($"Compile: concat inputs sum to {offset} elements per slice, the output {y} has {_outBlock}");
        _forward = ForwardChunk;
        _backward = BackwardChunk;
    }

    public override string Name => $"Concat({Inputs.Length})";

    // Enough outer slices per chunk that a chunk moves ~64 KB.
    private int MinSlices => Math.Max(1, (1 << 14) / Math.Max(1, _outBlock));

    public override void Forward(ExecutionPlan plan)
    {
        _plan = plan;
        Parallelism.For(_outer, _forward, MinSlices);
    }

    private void ForwardChunk(int start, int end)
    {
        var p = _plan!;
        var y = p.Data[Output];
        for (int i = 0; i < Inputs.Length; i++)
        {
            var x = p.Data[Inputs[i]];
            int block = _blocks[i];
            for (int o = start; o < end; o++) x.AsSpan(o * block, block).CopyTo(y.AsSpan(o * _outBlock + _offsets[i], block));
        }
    }

    public override void Backward(ExecutionPlan plan)
    {
        _plan = plan;
        Parallelism.For(_outer, _backward, MinSlices);
    }

    private void BackwardChunk(int start, int end)
    {
        var p = _plan!;
        var dy = p.Grad[Output];
        for (int i = 0; i < Inputs.Length; i++)
        {
            if (p.Grad[Inputs[i]] is not { } dx) continue;
            int block = _blocks[i];
            for (int o = start; o < end; o++)
            {
                var d = dx.AsSpan(o * block, block);
                TensorPrimitives.Add(d, dy.AsSpan(o * _outBlock + _offsets[i], block), d);
            }
        }
    }
}
