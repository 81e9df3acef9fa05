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

/// <summary>
/// What an executing operator may use: fresh output storage and which outputs the graph consumes. Every value it hands
/// out is checked against an element limit first, so a shape taken from a model file (ConstantOfShape, Expand, Tile,
/// Pad, Reshape targets…) cannot make the runtime allocate more than the session allows.
/// </summary>
internal sealed class OpContext
{
    private readonly BufferPool? _pool;
    private readonly Func<long, string> _describeLimit;
    private bool[] _requested = [];

    /// <summary>
    /// A context allocating from <paramref name="pool"/>, or plain arrays when null (load-time folding), refusing any
    /// value of more than <paramref name="maxElements"/> elements.
    /// </summary>
    /// <param name="pool">The session's buffer pool, or null.</param>
    /// <param name="maxElements">The most elements one value may have.</param>
    /// <param name="describeLimit">Names the limit in the error message, given its current value (which option sets it).</param>
    public OpContext(BufferPool? pool, long maxElements, Func<long, string> describeLimit)
    {
        _pool = pool;
        MaxElements = maxElements;
        _describeLimit = describeLimit;
    }

    /// <summary>The most elements one value may have; load-time folding lowers it as its budget is used up.</summary>
    public long MaxElements { get; set; }

    /// <summary>A context without a pool and with the same limit, for an operator's own temporary values.</summary>
    public OpContext Unpooled() => new(null, MaxElements, _describeLimit);

    /// <summary>
    /// The element count of <paramref name="shape"/>, after checking it against <see cref="MaxElements"/>: operators that
    /// build index maps or scratch sized by an output shape call this before allocating them.
    /// </summary>
    /// <exception cref="ShapeException">The shape has a negative dimension or more elements than allowed.</exception>
    public int Reserve(int[] shape)
    {
        int n = OnnxValue.Numel(shape);
        if (n > MaxElements)
            throw new ShapeException($"output shape {Shape.Format(shape)} has {n} elements, more than {_describeLimit(MaxElements)}");
        return n;
    }

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
        int n = Reserve(shape);
        return OnnxValue.FromFloats(_pool?.RentFloats(n) ?? new float[n], shape);
    }

    /// <summary>An integer/BOOL value of <paramref name="shape"/> with undefined contents.</summary>
    public OnnxValue Longs(int[] shape, OnnxDataType dataType = OnnxDataType.Int64)
    {
        int n = Reserve(shape);
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
