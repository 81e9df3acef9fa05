using System.Collections;
using System.Diagnostics.CodeAnalysis;

namespace CnnSharp;

/// <summary>
/// An ordered map from PyTorch-style keys (<c>layer1.0.weight</c>, <c>layer1.1.running_mean</c>,
/// <c>state.0.exp_avg</c>) to tensors: what PyTorch's <c>state_dict()</c> returns. The one state type of the library:
/// <see cref="Modules.Module.StateDict"/> and <see cref="Optimizers.Optimizer.StateDict"/> return it, their
/// <c>LoadStateDict</c> take it, and safetensors, checkpoints and PyTorch <c>.pt</c> files are read into it, so
/// <c>model.LoadStateDict(other.StateDict())</c> works as in PyTorch.
/// </summary>
/// <remarks>
/// <para>Keys keep their insertion order (a module's is PyTorch's: parameters, buffers, then children), which is the
/// order a safetensors file written from this dict lays its tensors out in. Tensors are held by reference, not copied:
/// a module's state dict holds its live parameters and buffers, like PyTorch's.</para>
/// <para>Int64 scalars (PyTorch's <c>num_batches_tracked</c> as a file stores it) are entries too: enumerated and
/// indexed as a shape-() float32 tensor holding the value (exact up to 2^24), with the exact value from
/// <see cref="TryGetInt64"/>; <see cref="Tensors"/> and <see cref="GetTensor"/> see only the float32 tensors.</para>
/// <para>Float64 scalars (a learning-rate scheduler's <c>last_lr</c>, as a Python float holds it) are float32 tensors
/// too (shape (), the value rounded), with the exact double from <see cref="TryGetFloat64"/>; safetensors stores them
/// as 0-rank F64.</para>
/// </remarks>
/// <example><code>
/// var copy = new ConvNet();
/// copy.LoadStateDict(model.StateDict());            // strict: the same keys and shapes
/// var sd = new StateDict { ["fc.weight"] = w };      // or built by hand
/// var result = model.LoadStateDict(sd, strict: false); // result.MissingKeys, result.UnexpectedKeys
/// </code></example>
public sealed class StateDict : IReadOnlyList<KeyValuePair<string, Tensor>>
{
    private readonly List<string> _keys = [];
    private readonly Dictionary<string, Tensor> _values = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _int64 = new(StringComparer.Ordinal);
    private readonly Dictionary<string, double> _float64 = new(StringComparer.Ordinal);

    /// <summary>An empty state dict.</summary>
    public StateDict() { }

    /// <summary>A state dict holding <paramref name="entries"/> in their order (the tensors are not copied).</summary>
    /// <exception cref="ArgumentException">A key is empty, reserved (<c>__metadata__</c>) or repeated.</exception>
    public StateDict(IEnumerable<KeyValuePair<string, Tensor>> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        foreach (var (key, tensor) in entries) Add(key, tensor);
    }

    /// <summary>All keys, tensors and int64 scalars together, in insertion order.</summary>
    public IReadOnlyList<string> Keys => _keys;

    /// <summary>Number of entries.</summary>
    public int Count => _keys.Count;

    /// <summary>The entry at <paramref name="index"/> in insertion order.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is not in [0, Count).</exception>
    public KeyValuePair<string, Tensor> this[int index] => new(_keys[index], _values[_keys[index]]);

    /// <summary>
    /// The tensor under <paramref name="key"/> (an int64 scalar as a shape-() float32 tensor). Setting replaces an
    /// existing entry in place (keeping its position) or appends a new one, like assigning into an <c>OrderedDict</c>.
    /// </summary>
    /// <exception cref="KeyNotFoundException">Getting a key that is not present.</exception>
    /// <exception cref="ArgumentException">Setting an empty or reserved key.</exception>
    public Tensor this[string key]
    {
        get => _values.TryGetValue(key, out var t) ? t : throw new KeyNotFoundException($"StateDict: no key '{key}'");
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            if (_values.ContainsKey(key))
            {
                _values[key] = value;
                _int64.Remove(key);
                _float64.Remove(key);
            }
            else
            {
                Add(key, value);
            }
        }
    }

    /// <summary>The float32 tensors (every entry but the int64 scalars) in insertion order.</summary>
    public IEnumerable<KeyValuePair<string, Tensor>> Tensors =>
        _keys.Where(k => !_int64.ContainsKey(k)).Select(k => new KeyValuePair<string, Tensor>(k, _values[k]));

    /// <summary>The int64 scalars in insertion order.</summary>
    public IEnumerable<KeyValuePair<string, long>> Int64Values =>
        _keys.Where(_int64.ContainsKey).Select(k => new KeyValuePair<string, long>(k, _int64[k]));

    /// <summary>Adds a tensor under <paramref name="key"/>.</summary>
    /// <exception cref="ArgumentException">The key is empty, reserved (<c>__metadata__</c>) or already present.</exception>
    public void Add(string key, Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        CheckNewKey(key);
        _values.Add(key, tensor);
        _keys.Add(key);
    }

    /// <summary>Adds an int64 scalar under <paramref name="key"/> (stored as a 0-rank I64 tensor in safetensors).</summary>
    /// <exception cref="ArgumentException">The key is empty, reserved (<c>__metadata__</c>) or already present.</exception>
    public void AddInt64(string key, long value)
    {
        CheckNewKey(key);
        _values.Add(key, new Tensor([(float)value], new Shape()));
        _int64.Add(key, value);
        _keys.Add(key);
    }

    /// <summary>
    /// Adds a float64 scalar under <paramref name="key"/>: a shape-() float32 tensor holding the rounded value, with the
    /// exact value kept for <see cref="TryGetFloat64"/> (stored as a 0-rank F64 in safetensors).
    /// </summary>
    /// <exception cref="ArgumentException">The key is empty, reserved (<c>__metadata__</c>) or already present.</exception>
    public void AddFloat64(string key, double value)
    {
        CheckNewKey(key);
        _values.Add(key, new Tensor([(float)value], new Shape()));
        _float64.Add(key, value);
        _keys.Add(key);
    }

    /// <summary>True when <paramref name="key"/> is present (tensor or int64).</summary>
    public bool ContainsKey(string key) => _values.ContainsKey(key);

    /// <summary>Looks an entry up (an int64 scalar as a shape-() float32 tensor).</summary>
    public bool TryGetValue(string key, [MaybeNullWhen(false)] out Tensor tensor) => _values.TryGetValue(key, out tensor);

    /// <summary>Whether <paramref name="key"/> holds an int64 scalar.</summary>
    public bool IsInt64(string key) => _int64.ContainsKey(key);

    /// <summary>Looks a float32 tensor up (false for an int64 scalar).</summary>
    public bool TryGetTensor(string key, [MaybeNullWhen(false)] out Tensor tensor)
    {
        tensor = null;
        return !_int64.ContainsKey(key) && _values.TryGetValue(key, out tensor);
    }

    /// <summary>Whether <paramref name="key"/> holds a float64 scalar (<see cref="AddFloat64"/>).</summary>
    public bool IsFloat64(string key) => _float64.ContainsKey(key);

    /// <summary>Looks a float64 scalar up (false for any other entry, including a shape-() float32 tensor).</summary>
    public bool TryGetFloat64(string key, out double value) => _float64.TryGetValue(key, out value);

    /// <summary>Looks an int64 scalar up.</summary>
    public bool TryGetInt64(string key, out long value) => _int64.TryGetValue(key, out value);

    /// <summary>The float32 tensor under <paramref name="key"/>.</summary>
    /// <exception cref="KeyNotFoundException">No tensor has that key (the message says when it is an int64 instead).</exception>
    public Tensor GetTensor(string key) =>
        TryGetTensor(key, out var t) ? t
        : throw new KeyNotFoundException(_int64.ContainsKey(key) ? $"StateDict: '{key}' is an int64 scalar, not a tensor" : $"StateDict: no key '{key}'");

    /// <summary>The int64 scalar under <paramref name="key"/>.</summary>
    /// <exception cref="KeyNotFoundException">No int64 has that key (the message says when it is a tensor instead).</exception>
    public long GetInt64(string key) =>
        _int64.TryGetValue(key, out long v) ? v
        : throw new KeyNotFoundException(_values.ContainsKey(key) ? $"StateDict: '{key}' is a tensor, not an int64 scalar" : $"StateDict: no key '{key}'");

    /// <summary>The entries in insertion order.</summary>
    public IEnumerator<KeyValuePair<string, Tensor>> GetEnumerator()
    {
        foreach (string key in _keys) yield return new(key, _values[key]);
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>
    /// The one key-matching routine of every state load (modules, optimizers, safetensors, checkpoints, .pt files):
    /// the <paramref name="expected"/> keys absent from <paramref name="incoming"/> (in expected order), and the
    /// incoming keys not expected (in ordinal order, so messages do not depend on a file's layout).
    /// </summary>
    internal static (List<string> Missing, List<string> Unexpected) MatchKeys(IEnumerable<string> expected, IEnumerable<string> incoming,
        Func<string, bool> incomingHas)
    {
        var expectedSet = new HashSet<string>(StringComparer.Ordinal);
        var missing = new List<string>();
        foreach (string key in expected)
        {
            expectedSet.Add(key);
            if (!incomingHas(key)) missing.Add(key);
        }
        var unexpected = incoming.Where(k => !expectedSet.Contains(k)).OrderBy(k => k, StringComparer.Ordinal).ToList();
        return (missing, unexpected);
    }

    private void CheckNewKey(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        // The same rule as a safetensors tensor name, so every state dict can be written to a file.
        if (key.Length == 0) throw new ArgumentException("StateDict: the key is empty", nameof(key));
        if (key == "__metadata__") throw new ArgumentException("StateDict: '__metadata__' is reserved for a file's metadata", nameof(key));
        if (ContainsKey(key)) throw new ArgumentException($"StateDict: key '{key}' is already present", nameof(key));
    }
}
