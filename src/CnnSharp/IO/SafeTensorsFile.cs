using System.Collections.ObjectModel;

namespace CnnSharp.IO;

/// <summary>The validated content of a safetensors file: its entries in file order and its string metadata.</summary>
public sealed class SafeTensorsFile
{
    private readonly Dictionary<string, SafeTensorEntry> _byName;

    internal SafeTensorsFile(string source, IReadOnlyList<SafeTensorEntry> entries, IReadOnlyDictionary<string, string> metadata)
    {
        Source = source;
        Entries = entries;
        Metadata = metadata;
        _byName = new Dictionary<string, SafeTensorEntry>(entries.Count, StringComparer.Ordinal);
        foreach (var e in entries) _byName.Add(e.Name, e);
    }

    /// <summary>The path or source name the content was read from.</summary>
    public string Source { get; }

    /// <summary>The entries in the order of their data in the file.</summary>
    public IReadOnlyList<SafeTensorEntry> Entries { get; }

    /// <summary>The <c>__metadata__</c> strings (empty when the file has none), e.g. <c>format: pt</c>.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Number of entries.</summary>
    public int Count => Entries.Count;

    /// <summary>The entry names in file order.</summary>
    public IEnumerable<string> Names => Entries.Select(e => e.Name);

    /// <summary>The entry named <paramref name="name"/>.</summary>
    /// <exception cref="KeyNotFoundException">No entry has that name (the message names the file).</exception>
    public SafeTensorEntry this[string name] =>
        _byName.TryGetValue(name, out var e) ? e : throw new KeyNotFoundException($"{Source}: no tensor named '{name}' ({Count} tensors in the file)");

    /// <summary>True when an entry named <paramref name="name"/> exists.</summary>
    public bool Contains(string name) => _byName.ContainsKey(name);

    /// <summary>Looks an entry up by name.</summary>
    public bool TryGetEntry(string name, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out SafeTensorEntry entry) =>
        _byName.TryGetValue(name, out entry);

    /// <summary>
    /// Converts to a <see cref="StateDict"/> in file order: floating-point entries become float32 tensors (F16/BF16 widened
    /// exactly), one-element I64 entries become int64 scalars (<c>num_batches_tracked</c>), 0-rank F64 entries float64
    /// scalars (exact).
    /// </summary>
    /// <exception cref="SafeTensorsFormatException">An entry has a dtype a state dict cannot hold (e.g. U8, or an I64 with several elements); the message names it.</exception>
    public StateDict ToStateDict()
    {
        var dict = new StateDict();
        foreach (var e in Entries)
        {
            if (e.DType == SafeTensorDType.Float64 && e.Shape.Rank == 0) dict.AddFloat64(e.Name, e.ToFloat64Scalar());
            else if (e.IsFloatingPoint) dict.Add(e.Name, e.ToTensor());
            else if (e.DType == SafeTensorDType.Int64 && e.ElementCount == 1) dict.AddInt64(e.Name, e.ToInt64Scalar());
            else
                throw new SafeTensorsFormatException(Source, e.Name, null,
                    $"{Source}: tensor '{e.Name}' is {e.DType.FormatName()} with shape {e.Shape}; a state dict holds floating-point tensors and one-element I64 counters only");
        }
        return dict;
    }

    internal static IReadOnlyDictionary<string, string> EmptyMetadata { get; } =
        new ReadOnlyDictionary<string, string>(new Dictionary<string, string>());
}
