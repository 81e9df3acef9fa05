using System.Diagnostics.CodeAnalysis;

namespace CnnSharp.IO;

/// <summary>
/// An ordered map from PyTorch-style keys (<c>layer1.0.weight</c>, <c>layer1.1.running_mean</c>) to float32 tensors,
/// plus int64 scalars such as BatchNorm's <c>num_batches_tracked</c>: what PyTorch's <c>state_dict()</c> holds for a CNN.
/// </summary>
/// <remarks>
/// Keys keep their insertion order, which is the order a safetensors file written from this dict lays its tensors
/// out in. Tensors are held by reference, not copied (like PyTorch's <c>state_dict()</c>, whose tensors share
/// storage with the module).
/// </remarks>
public sealed class StateDict
{
    private readonly List<string> _keys = [];
    private readonly Dictionary<string, Tensor> _tensors = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _int64 = new(StringComparer.Ordinal);

    /// <summary>All keys, tensors and int64 scalars together, in insertion order.</summary>
    public IReadOnlyList<string> Keys => _keys;

    /// <summary>Number of keys.</summary>
    public int Count => _keys.Count;

    /// <summary>The float32 tensors in insertion order.</summary>
    public IEnumerable<KeyValuePair<string, Tensor>> Tensors =>
        _keys.Where(_tensors.ContainsKey).Select(k => new KeyValuePair<string, Tensor>(k, _tensors[k]));

    /// <summary>The int64 scalars in insertion order.</summary>
    public IEnumerable<KeyValuePair<string, long>> Int64Values =>
        _keys.Where(_int64.ContainsKey).Select(k => new KeyValuePair<string, long>(k, _int64[k]));

    /// <summary>Adds a tensor under <paramref name="key"/>.</summary>
    /// <exception cref="ArgumentException">The key is empty, reserved (<c>__metadata__</c>) or already present.</exception>
    public void Add(string key, Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        CheckNewKey(key);
        _tensors.Add(key, tensor);
        _keys.Add(key);
    }

    /// <summary>Adds an int64 scalar under <paramref name="key"/> (stored as a 0-rank I64 tensor in safetensors).</summary>
    /// <exception cref="ArgumentException">The key is empty, reserved (<c>__metadata__</c>) or already present.</exception>
    public void AddInt64(string key, long value)
    {
        CheckNewKey(key);
        _int64.Add(key, value);
        _keys.Add(key);
    }

    /// <summary>True when <paramref name="key"/> is present (tensor or int64).</summary>
    public bool ContainsKey(string key) => _tensors.ContainsKey(key) || _int64.ContainsKey(key);

    /// <summary>Looks a tensor up.</summary>
    public bool TryGetTensor(string key, [MaybeNullWhen(false)] out Tensor tensor) => _tensors.TryGetValue(key, out tensor);

    /// <summary>Looks an int64 scalar up.</summary>
    public bool TryGetInt64(string key, out long value) => _int64.TryGetValue(key, out value);

    /// <summary>The tensor under <paramref name="key"/>.</summary>
    /// <exception cref="KeyNotFoundException">No tensor has that key (the message says when it is an int64 instead).</exception>
    public Tensor GetTensor(string key) =>
        _tensors.TryGetValue(key, out var t) ? t
        : throw new KeyNotFoundException(_int64.ContainsKey(key) ? $"StateDict: '{key}' is an int64 scalar, not a tensor" : $"StateDict: no key '{key}'");

    /// <summary>The int64 scalar under <paramref name="key"/>.</summary>
    /// <exception cref="KeyNotFoundException">No int64 has that key (the message says when it is a tensor instead).</exception>
    public long GetInt64(string key) =>
        _int64.TryGetValue(key, out long v) ? v
        : throw new KeyNotFoundException(_tensors.ContainsKey(key) ? $"StateDict: '{key}' is a tensor, not an int64 scalar" : $"StateDict: no key '{key}'");

    /// <summary>
    /// The safetensors entries for this dict in key order: tensors as <paramref name="floatDType"/> (F32 by default,
    /// exact), int64 scalars as 0-rank I64.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="floatDType"/> is not F16, BF16, F32 or F64.</exception>
    public IReadOnlyList<SafeTensorEntry> ToSafeTensorEntries(SafeTensorDType floatDType = SafeTensorDType.Float32)
    {
        var list = new List<SafeTensorEntry>(_keys.Count);
        foreach (string k in _keys)
            list.Add(_tensors.TryGetValue(k, out var t) ? SafeTensorEntry.FromTensor(k, t, floatDType) : SafeTensorEntry.Int64Scalar(k, _int64[k]));
        return list;
    }

    private void CheckNewKey(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        SafeTensorEntry.ValidateName(key);
        if (ContainsKey(key)) throw new ArgumentException($"StateDict: key '{key}' is already present", nameof(key));
    }
}
