namespace CnnSharp.Compile.Ops;

/// <summary>One step of an <see cref="ExecutionPlan"/>: reads its input values' buffers, writes its output value's buffer,
/// and in backward accumulates into its inputs' gradient buffers and its parameters' <c>Grad</c>.</summary>
/// <remarks>Ops are built once per plan and hold only preallocated state, so a steady-state step allocates nothing.</remarks>
internal abstract class CompiledOp(int[] inputs, int output)
{
    /// <summary>Value ids read by the op.</summary>
    public int[] Inputs { get; } = inputs;

    /// <summary>Value id written by the op.</summary>
    public int Output { get; } = output;

    /// <summary>A short description for <see cref="CompiledModel.Describe"/>.</summary>
    public abstract string Name { get; }

    /// <summary>Computes the output buffer from the input buffers.</summary>
    public abstract void Forward(ExecutionPlan plan);

    /// <summary>Accumulates input and parameter gradients from the output gradient (called in reverse op order).</summary>
    public abstract void Backward(ExecutionPlan plan);

    /// <summary>Parameters this op writes gradients into (the plan makes sure their <c>Grad</c> exists before backward).</summary>
    public virtual IEnumerable<Tensor> Parameters => [];

    /// <summary>How many of <paramref name="ops"/> read each value (op-level fusion passes: a value read once can stay inside a fused op).</summary>
    internal static Dictionary<int, int> ReaderCounts(CompiledOp[] ops)
    {
        var readers = new Dictionary<int, int>();
        foreach (var op in ops)
            foreach (int v in op.Inputs.Distinct()) readers[v] = readers.GetValueOrDefault(v) + 1;
        return readers;
    }
}
