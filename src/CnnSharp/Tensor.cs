using CnnSharp.Autograd;

namespace CnnSharp;

/// <summary>
/// A dense float32 tensor with contiguous row-major storage (NCHW for images), optionally tracked by reverse-mode autograd.
/// </summary>
/// <remarks>
/// Storage is a <c>float[]</c> of exactly <see cref="Numel"/> elements. Views made by <see cref="Reshape"/> share
/// the storage (writes through one are visible in the other), as in PyTorch's <c>view</c>. Gradients accumulate into
/// <see cref="Grad"/> on every <see cref="Backward"/> call until cleared, as in PyTorch.
/// </remarks>
public sealed partial class Tensor
{
    private readonly float[] _data;
    private bool _requiresGrad;

    /// <summary>Wraps <paramref name="data"/> (not copied) with <paramref name="shape"/>.</summary>
    /// <exception cref="ShapeException">The element count of <paramref name="shape"/> differs from <c>data.Length</c>.</exception>
    public Tensor(float[] data, Shape shape)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(shape);
        if (data.Length != shape.Numel)
            throw new ShapeException($"Tensor: {data.Length} values cannot have shape {shape} ({shape.Numel} elements)");
        _data = data;
        Shape = shape;
    }

    /// <summary>The tensor's shape.</summary>
    public Shape Shape { get; }

    /// <summary>Number of dimensions.</summary>
    public int Rank => Shape.Rank;

    /// <summary>Total number of elements.</summary>
    public int Numel => _data.Length;

    /// <summary>Size of dimension <paramref name="dim"/> (negative counts from the end), like PyTorch's <c>size(dim)</c>.</summary>
    public int Size(int dim) => Shape[dim];

    /// <summary>The elements in row-major order (writable; shared with views).</summary>
    public Span<float> Data => _data;

    /// <summary>The backing array (shared with views). For kernels and I/O inside the library.</summary>
    internal float[] Storage => _data;

    /// <summary>Accumulated gradient of the last <see cref="Backward"/> calls, same shape as this tensor; null until one reaches it.</summary>
    public Tensor? Grad { get; set; }

    /// <summary>The autograd node that produced this tensor, or null for leaves and untracked tensors.</summary>
    public Node? GradFn { get; private set; }

    /// <summary>True for tensors created by the user (not by a tracked op).</summary>
    public bool IsLeaf => GradFn is null;

    /// <summary>Whether autograd records operations on this tensor. Only leaves can be switched.</summary>
    /// <exception cref="InvalidOperationException">Set on a non-leaf tensor.</exception>
    public bool RequiresGrad
    {
        get => _requiresGrad;
        set
        {
            if (!IsLeaf) throw new InvalidOperationException("RequiresGrad can only be changed on leaf tensors; use Detach() instead");
            _requiresGrad = value;
        }
    }

    /// <summary>Sets <see cref="RequiresGrad"/> and returns this tensor (fluent, like PyTorch's <c>requires_grad_()</c>).</summary>
    public Tensor RequiresGrad_(bool requiresGrad = true)
    {
        RequiresGrad = requiresGrad;
        return this;
    }

    /// <summary>Records <paramref name="node"/> as this tensor's producer when grad mode is on and any node input requires grad.</summary>
    internal void SetGradFn(Node node)
    {
        if (!GradMode.IsEnabled) return;
        foreach (var input in node.Inputs)
        {
            if (input.RequiresGrad)
            {
                GradFn = node;
                _requiresGrad = true;
                Compile.Tracer.Current?.OnNode(this, node);
                return;
            }
        }
    }

    /// <summary>
    /// Returns the gradient buffer, creating a zero-filled one on first use. Backward nodes accumulate (<c>+=</c>) into it.
    /// </summary>
    /// <remarks>A non-leaf tensor's buffer comes from <see cref="CachingAllocator"/>; the engine hands it back through
    /// <see cref="ReleaseGrad"/> once the tensor's node has consumed it.</remarks>
    internal Span<float> GradSpanForAccumulate()
    {
        if (Grad is null)
        {
            if (IsLeaf)
            {
                Grad = new Tensor(new float[_data.Length], Shape);
            }
            else
            {
                Grad = new Tensor(CachingAllocator.RentZeroed(_data.Length), Shape);
                _cachedGrad = Grad;
            }
        }
        return Grad.Data;
    }

    // The gradient this tensor took from the caching allocator (only ever a non-leaf's, only during a backward sweep).
    private Tensor? _cachedGrad;

    /// <summary>
    /// Clears <see cref="Grad"/>; when <paramref name="recycle"/> and it is still the buffer taken from the caching
    /// allocator, that buffer goes back to the cache (the engine calls this once nothing can read it any more).
    /// </summary>
    internal void ReleaseGrad(bool recycle)
    {
        if (recycle && Grad is { } g && ReferenceEquals(g, _cachedGrad)) CachingAllocator.Return(g.Storage);
        _cachedGrad = null;
        Grad = null;
    }

    /// <summary>
    /// Computes gradients of this tensor with respect to every leaf that requires grad, accumulating into their <see cref="Grad"/>.
    /// </summary>
    /// <param name="gradient">d(loss)/d(this), same shape as this tensor; may be omitted only for a one-element tensor (then 1).</param>
    /// <exception cref="InvalidOperationException">This tensor does not require grad, or is not a scalar and no gradient was given.</exception>
    public void Backward(Tensor? gradient = null) => Engine.Backward(this, gradient);

    /// <summary>A tensor sharing this storage with no autograd history (PyTorch's <c>detach()</c>).</summary>
    public Tensor Detach() => new(_data, Shape);

    /// <summary>A deep copy of the data, with no autograd history.</summary>
    public Tensor Clone() => new((float[])_data.Clone(), Shape);

    /// <summary>The elements as a new array, row-major.</summary>
    public float[] ToArray() => (float[])_data.Clone();

    /// <summary>The single value of a one-element tensor (PyTorch's <c>item()</c>).</summary>
    /// <exception cref="InvalidOperationException">The tensor has more than one element.</exception>
    public float Item()
    {
        if (_data.Length != 1) throw new InvalidOperationException($"Item: tensor of shape {Shape} has {_data.Length} elements, expected 1");
        return _data[0];
    }

    /// <summary>Element at a full index (one index per dimension; negative indices are not allowed).</summary>
    [System.Runtime.CompilerServices.IndexerName("At")]
    public float this[params int[] index]
    {
        get => _data[FlatIndex(index)];
        set => _data[FlatIndex(index)] = value;
    }

    private int FlatIndex(int[] index) => Shape.FlatIndex(index, "Tensor");
}
