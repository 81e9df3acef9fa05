using CnnSharp.Kernels;

namespace CnnSharp.Autograd;

/// <summary>
/// A caching allocator for the eager path, in the spirit of PyTorch's CUDA caching allocator: an intermediate gradient
/// buffer the backward sweep has finished with goes back to a free list keyed by its exact length, and the next request
/// of that length takes it instead of a fresh array: a gradient later in the sweep, or an op's output in the next
/// step's forward (so cached buffers are not left idle while the activations pile up).
/// </summary>
/// <remarks>
/// <para>What is cached, and why it is safe: only the gradients of <em>non-leaf</em> tensors that
/// <see cref="Tensor.GradSpanForAccumulate"/> created during a sweep. The engine owns them: they appear when the first
/// consumer's node accumulates into them, are read once by the producer's node, and are then cleared from the tensor
/// (PyTorch's default of not retaining non-leaf gradients), so no tensor, view or node can still reach them. Library
/// nodes never keep or alias their <c>gradOutput</c> (every one accumulates into a buffer of its own), and user code
/// cannot attach nodes (<c>SetGradFn</c> is internal). Leaf gradients (parameters) and every op's output stay ordinary
/// GC arrays: a user may hold any output or parameter gradient for as long as they like, and without reference counts
/// nothing can tell when the last holder let go.</para>
/// <para>Exact lengths, because a <see cref="Tensor"/>'s storage is exactly <c>Numel</c> long; a training loop asks for
/// the same lengths every step. Buffers under <see cref="MinLength"/> floats are left to the GC (gen-0 arrays, cheap);
/// the large ones (LOH arrays of 85 KB and more) are what made the eager step trigger a gen-2 collection.</para>
/// <para>Taking is always safe (a cached buffer has no other holder); only giving back needs the proof above, so op
/// outputs take from the cache (<c>Tensor.Uninitialized</c>) but are never given back.</para>
/// <para>At most <see cref="CapacityBytes"/> are held; a buffer that would exceed it empties the cache first (stale
/// lengths from another batch size or model go), then is kept. Gradient buffers are zero-filled when taken (in
/// parallel when large), as a fresh array would be. Thread-safe (one lock around the free lists).</para>
/// </remarks>
internal static class CachingAllocator
{
    /// <summary>Shorter buffers are not cached.</summary>
    public const int MinLength = 4096;

    /// <summary>The most bytes the cache holds.</summary>
    public const long CapacityBytes = 256L << 20;

    private static readonly Lock s_lock = new();
    private static readonly Dictionary<int, Stack<float[]>> s_free = [];
    private static long s_cachedBytes;

    /// <summary>Bytes currently held in the free lists.</summary>
    public static long CachedBytes
    {
        get
        {
            lock (s_lock) return s_cachedBytes;
        }
    }

    /// <summary>An array of exactly <paramref name="length"/> floats with unspecified contents (an op's output, which the
    /// op overwrites), from the cache when one is free.</summary>
    public static float[] Rent(int length) => TryTake(length) ?? GC.AllocateUninitializedArray<float>(length);

    /// <summary>A zero-filled array of exactly <paramref name="length"/> floats, from the cache when one is free.</summary>
    public static float[] RentZeroed(int length)
    {
        if (TryTake(length) is not { } buffer) return new float[length];
        ElementBlocks.Clear(buffer);
        return buffer;
    }

    private static float[]? TryTake(int length)
    {
        if (length < MinLength) return null;
        lock (s_lock)
        {
            if (!s_free.TryGetValue(length, out var stack) || !stack.TryPop(out var buffer)) return null;
            s_cachedBytes -= (long)length * sizeof(float);
            return buffer;
        }
    }

    /// <summary>Gives <paramref name="buffer"/> back; the caller must hold no other reference to it.</summary>
    public static void Return(float[] buffer)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        if (buffer.Length < MinLength) return;
        long bytes = (long)buffer.Length * sizeof(float);
        if (bytes > CapacityBytes) return;
        lock (s_lock)
        {
            if (s_cachedBytes + bytes > CapacityBytes) EmptyLocked();
            if (!s_free.TryGetValue(buffer.Length, out var stack)) s_free[buffer.Length] = stack = new Stack<float[]>();
            stack.Push(buffer);
            s_cachedBytes += bytes;
        }
    }

    /// <summary>Drops every cached buffer (PyTorch's <c>empty_cache</c>).</summary>
    public static void EmptyCache()
    {
        lock (s_lock) EmptyLocked();
    }

    private static void EmptyLocked()
    {
        s_free.Clear();
        s_cachedBytes = 0;
    }
}
