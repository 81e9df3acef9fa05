using CnnSharp.Compile.Ops;

namespace CnnSharp.Compile;

/// <summary>
/// A compiled model for one input shape and one mode: the op list in execution order and every value's buffers,
/// allocated once when the plan is built and reused by every step.
/// </summary>
/// <remarks>
/// Value 0 is the model input: its buffer is the caller's tensor storage, read, never written. Reshapes alias their
/// input's buffers. Training plans keep every activation (backward reads them); inference plans share buffers between
/// values whose lifetimes do not overlap.
/// </remarks>
internal sealed class ExecutionPlan
{
    internal ExecutionPlan(Shape[] shapes, float[][] data, float[]?[] grad, CompiledOp[] ops, int output, IReadOnlyList<string> breaks,
        float[][][] clearBefore)
    {
        Shapes = shapes;
        Data = data;
        Grad = grad;
        Ops = ops;
        Output = output;
        GraphBreaks = breaks;
        Parameters = [.. ops.SelectMany(o => o.Parameters).Distinct(ReferenceEqualityComparer.Instance).Cast<Tensor>()];
        _clearBefore = clearBefore;
        // Values without a buffer of their own read the input: value 0 and its reshapes (and fused-away values, unused).
        _inputValues = [.. Enumerable.Range(0, data.Length).Where(v => v == 0 || data[v] is null)];
        _clearBody = (start, end) => Array.Clear(_clearing!, start, end - start);
    }

    // The gradient buffers to zero before each op's backward: gradients are shared between values by lifetime, so each is
    // cleared when its value's gradient starts (the first op writing it), not once per step.
    private readonly float[][][] _clearBefore;
    private float[]? _clearing;
    private readonly int[] _inputValues;
    private readonly Action<int, int> _clearBody;

    /// <summary>Each value's shape.</summary>
    public Shape[] Shapes { get; }

    /// <summary>Each value's forward buffer.</summary>
    public float[][] Data { get; }

    /// <summary>Each value's gradient buffer, or null where no gradient flows.</summary>
    public float[]?[] Grad { get; }

    /// <summary>The ops in execution order.</summary>
    public CompiledOp[] Ops { get; }

    /// <summary>The output value's id.</summary>
    public int Output { get; }

    /// <summary>Ops that run eagerly inside the plan (graph breaks), by name.</summary>
    public IReadOnlyList<string> GraphBreaks { get; }

    /// <summary>The parameters that receive gradients.</summary>
    public Tensor[] Parameters { get; }

    /// <summary>Per-op forward and backward seconds, accumulated while not null (<see cref="CompiledModel.Profile"/>).</summary>
    internal double[,]? Timings { get; set; }

    /// <summary>Runs every op on <paramref name="input"/>'s storage; the result is in <c>Data[Output]</c>.</summary>
    public void Forward(float[] input)
    {
        foreach (int v in _inputValues) Data[v] = input;
        using var spin = SpinScope();
        if (Timings is null) foreach (var op in Ops) op.Forward(this);
        else for (int i = 0; i < Ops.Length; i++) Timed(i, 0, forward: true);
    }

    /// <summary>Runs the ops' backward in reverse order, zeroing each gradient buffer as its value's gradient starts; the
    /// caller has written <c>Grad[Output]</c> (overwritten, not accumulated) and made sure every parameter's <c>Grad</c> exists.</summary>
    public void Backward()
    {
        using var spin = SpinScope();
        for (int i = Ops.Length - 1; i >= 0; i--)
        {
            foreach (var buffer in _clearBefore[i])
            {
                _clearing = buffer;
                Chunks.Run(buffer.Length, _clearBody);
            }
            if (Timings is null) Ops[i].Backward(this);
            else Timed(i, 1, forward: false);
        }
    }

    // The pool's workers stay awake for the whole pass (its regions and the serial gaps between them), then block.
    private static Kernels.WorkerPool.SpinScope SpinScope() =>
        Kernels.WorkerPool.PlanScopedSpinning ? Kernels.WorkerPool.Shared.KeepSpinning() : default;

    private void Timed(int op, int column, bool forward)
    {
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        if (forward) Ops[op].Forward(this);
        else Ops[op].Backward(this);
        Timings![op, column] += System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalSeconds;
    }

}
