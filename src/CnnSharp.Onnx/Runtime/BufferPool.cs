namespace CnnSharp.Onnx.Runtime;

/// <summary>
/// Exact-length array pool for the values of one session: a value's storage returns here after its last consumer ran
/// and the next node (or the next run) that needs that many elements takes it back. With a fixed input shape the
/// same sizes recur on every run, so after the first run a graph executes without allocating intermediate tensors.
/// </summary>
/// <remarks>Not thread-safe; the session serialises runs. Cleared when the input shapes change so sizes of old
/// shapes do not accumulate.</remarks>
internal sealed class BufferPool
{
    private readonly Dictionary<int, Stack<float[]>> _floats = [];
    private readonly Dictionary<int, Stack<long[]>> _longs = [];

    /// <summary>A float array of exactly <paramref name="length"/> elements (contents undefined).</summary>
    public float[] RentFloats(int length) =>
        length > 0 && _floats.TryGetValue(length, out var stack) && stack.TryPop(out var array) ? array : new float[length];

    /// <summary>An int64 array of exactly <paramref name="length"/> elements (contents undefined).</summary>
    public long[] RentLongs(int length) =>
        length > 0 && _longs.TryGetValue(length, out var stack) && stack.TryPop(out var array) ? array : new long[length];

    /// <summary>Gives a value's storage back to the pool.</summary>
    public void Return(OnnxValue value)
    {
        if (value.Count == 0) return;
        if (value.IsFloat) Push(_floats, value.Floats);
        else Push(_longs, value.Longs);
    }

    /// <summary>Drops every pooled array.</summary>
    public void Clear()
    {
        _floats.Clear();
        _longs.Clear();
    }

    private static void Push<T>(Dictionary<int, Stack<T[]>> pool, T[] array)
    {
        if (!pool.TryGetValue(array.Length, out var stack)) pool[array.Length] = stack = new Stack<T[]>();
        stack.Push(array);
    }
}
