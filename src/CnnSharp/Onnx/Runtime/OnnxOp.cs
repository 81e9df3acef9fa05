namespace CnnSharp.Onnx.Runtime;

/// <summary>
/// One executable operator instance: built (and fully validated) from a node when the session is created, then run
/// any number of times. Implementations parse attributes in their constructor through an <see cref="OpBuilder"/>.
/// </summary>
internal abstract class OnnxOp
{
    /// <summary>
    /// Computes the node's outputs. <paramref name="inputs"/>[i] is null for an omitted optional input;
    /// <paramref name="outputs"/>[i] must be set for every requested output (<see cref="OpContext.IsRequested"/>), each a
    /// fresh value from <paramref name="ctx"/> (never an input's storage).
    /// </summary>
    public abstract void Execute(OpContext ctx, ReadOnlySpan<OnnxValue?> inputs, Span<OnnxValue?> outputs);

    /// <summary>False for operators whose result is random, so they are never constant-folded.</summary>
    public virtual bool IsDeterministic => true;

    /// <summary>True when the outputs depend only on the input shapes, not their values (Shape, Size).</summary>
    public virtual bool DependsOnlyOnShapes => false;

    /// <summary>
    /// Inputs whose values (not only shapes) determine the output shape, such as Reshape's target shape. Output shapes
    /// follow from input shapes alone when these are constants or shape-derived values.
    /// </summary>
    public virtual IReadOnlyList<int> ShapeInputs => [];
}

/// <summary>What an executing operator may use: fresh output storage and which outputs the graph consumes.</summary>
internal sealed class OpContext
{
    private readonly BufferPool? _pool;
    private bool[] _requested = [];

    /// <summary>A context allocating from <paramref name="pool"/>, or plain arrays when null (load-time folding).</summary>
    public OpContext(BufferPool? pool) => _pool = pool;

    /// <summary>The node being executed (for error messages).</summary>
    public OnnxNode? Node { get; private set; }

    internal void Begin(OnnxNode node, bool[] requested)
    {
        Node = node;
        _requested = requested;
    }

    /// <summary>Whether output <paramref name="index"/> is consumed (named in the node and used or a graph output).</summary>
    public bool IsRequested(int index) => index < _requested.Length && _requested[index];

    /// <summary>
    /// Gives an intermediate value that an operator created with this context and no longer needs back to the pool
    /// (a fused operator's internal values); no-op without a pool.
    /// </summary>
    public void Return(OnnxValue value) => _pool?.Return(value);

    /// <summary>A float value of <paramref name="shape"/> with undefined contents.</summary>
    public OnnxValue Floats(int[] shape)
    {
        int n = OnnxValue.Numel(shape);
        return OnnxValue.FromFloats(_pool?.RentFloats(n) ?? new float[n], shape);
    }

    /// <summary>An integer/BOOL value of <paramref name="shape"/> with undefined contents.</summary>
    public OnnxValue Longs(int[] shape, OnnxDataType dataType = OnnxDataType.Int64)
    {
        int n = OnnxValue.Numel(shape);
        return OnnxValue.FromLongs(_pool?.RentLongs(n) ?? new long[n], shape, dataType);
    }

    /// <summary>A value of <paramref name="dataType"/> (floating types become FLOAT) with undefined contents.</summary>
    public OnnxValue Create(OnnxDataType dataType, int[] shape) =>
        OnnxValue.IsFloatingType(dataType) ? Floats(shape) : Longs(shape, dataType);

    /// <summary>A value with the same type as <paramref name="like"/> and shape <paramref name="shape"/>.</summary>
    public OnnxValue Like(OnnxValue like, int[] shape) => like.IsFloat ? Floats(shape) : Longs(shape, like.DataType);

    /// <summary>A fresh copy of <paramref name="source"/>, optionally with another shape of the same element count.</summary>
    public OnnxValue Copy(OnnxValue source, int[]? shape = null)
    {
        var result = Like(source, shape ?? (int[])source.Shape.Clone());
        if (source.IsFloat) source.Floats.AsSpan().CopyTo(result.Floats);
        else source.Longs.AsSpan().CopyTo(result.Longs);
        return result;
    }
}
