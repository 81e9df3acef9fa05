namespace CnnSharp.IO.Torch;

// The values the restricted unpickler builds. Python's None, bool, int (within 64 bits), float and str become
// PickleNone.Value, bool, long, double and string; tuples become object[] (immutable), lists List<object>. Nothing else
// exists: there is no way to produce an arbitrary object, which is what makes the machine safe.

/// <summary>Python's <c>None</c> (a distinct value, so a null reference always means a bug, never data).</summary>
internal sealed class PickleNone
{
    public static readonly PickleNone Value = new();

    private PickleNone() { }

    public override string ToString() => "None";
}

/// <summary>A dict or OrderedDict: keys (str, int, float, bool, None) in insertion order, a re-set key keeping its place.</summary>
internal sealed class PickleDict
{
    private readonly List<object> _keys = [];
    private readonly Dictionary<object, object> _values = [];

    public PickleDict(bool ordered) => Ordered = ordered;

    /// <summary>True for <c>collections.OrderedDict</c>, false for a plain <c>dict</c>.</summary>
    public bool Ordered { get; }

    public int Count => _keys.Count;

    public IEnumerable<KeyValuePair<object, object>> Items => _keys.Select(k => new KeyValuePair<object, object>(k, _values[k]));

    public bool TryGetValue(object key, out object value) => _values.TryGetValue(key, out value!);

    /// <summary>Sets an item; false when the key is of a type a state dict never uses as a key (a tuple, a tensor).</summary>
    public bool TrySet(object key, object value)
    {
        if (key is not (string or long or double or bool or PickleNone)) return false;
        if (!_values.ContainsKey(key)) _keys.Add(key);
        _values[key] = value;
        return true;
    }
}

/// <summary>A global that passed the allow-list (see <see cref="PickleMachine"/>).</summary>
internal sealed record PickleGlobal(string Module, string Name)
{
    public string FullName => Module + "." + Name;

    public override string ToString() => FullName;
}

/// <summary>
/// A storage named by a persistent id <c>('storage', torch.FloatStorage, '3', 'cpu', 120)</c>: archive entry
/// <c>data/3</c> holding <see cref="ElementCount"/> elements of <see cref="DType"/>. Tensors that share it share its bytes.
/// </summary>
internal sealed record TorchStorage(string Key, SafeTensorDType DType, long ElementCount);

/// <summary>
/// A tensor from <c>torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)</c>: a strided view of a storage,
/// validated (every element it reaches lies inside the storage) when it is built.
/// </summary>
internal sealed record TorchTensor(TorchStorage Storage, long Offset, int[] Size, long[] Stride);
