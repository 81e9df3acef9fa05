using System.Buffers.Binary;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace CnnSharp.IO;

/// <summary>How <see cref="SafeTensors"/> lays tensors out when writing.</summary>
public enum SafeTensorsLayout
{
    /// <summary>
    /// The order the entries are given in (a state dict's key order). This is how the PyTorch checkpoints in the
    /// conformance suite are laid out, so a read-then-write round trip of such a file reproduces it byte for byte.
    /// </summary>
    AsGiven,

    /// <summary>
    /// The reference safetensors library's order: dtypes of larger alignment first (U64, I64, F64, F32, ...), then by
    /// name (byte-wise UTF-8), so every tensor starts at a multiple of its element size.
    /// </summary>
    Aligned,
}

/// <summary>
/// Reads and writes the safetensors format: an 8-byte little-endian header length N, N bytes of UTF-8 JSON
/// (<c>{"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {..}}</c>, space-padded),
/// then the tensor bytes. Data only: loading never runs code.
/// </summary>
/// <remarks>
/// <para>The reader checks everything before it allocates or reads tensor data, with the rules of the reference
/// implementation: the file holds at least the 8-byte prefix; N is at most 100,000,000 and fits in the file; the header
/// is UTF-8 JSON, an object whose keys are unique, whose <c>__metadata__</c> maps strings to strings and whose other
/// values have exactly <c>dtype</c> (a known name), <c>shape</c> (non-negative integers) and <c>data_offsets</c>
/// (two non-negative integers, begin &lt;= end); the shape's element count times the dtype size equals end - begin
/// (overflow-checked); every range lies inside the data buffer; sorted by offset the ranges start at 0 and each begins
/// where the previous ends (no overlap, no hole); the last ends exactly at the end of the file (no trailing bytes).
/// Each violation is a <see cref="SafeTensorsFormatException"/> naming the file, the tensor and the byte offsets.</para>
/// <para>Writes go to a temporary sibling file that is renamed over the target, so a failed save never leaves a
/// partial file and never damages the previous one. The header is compact JSON padded with spaces to a multiple of
/// 8 bytes, as the reference writer does.</para>
/// </remarks>
public static partial class SafeTensors
{
    /// <summary>The header key that holds the file's string-to-string metadata.</summary>
    public const string MetadataKey = "__metadata__";

    /// <summary>The largest header the reader accepts, in bytes (the reference implementation's limit).</summary>
    public const long MaxHeaderLength = 100_000_000;

    /// <summary>Reads and validates a safetensors file.</summary>
    /// <param name="path">The file path (used in error messages).</param>
    /// <exception cref="SafeTensorsFormatException">The file breaks a rule of the format (see remarks on <see cref="SafeTensors"/>); a file of
    /// another kind recognised by its first bytes (PNG, JPEG, ONNX, zip or pickle from <c>torch.save</c>, gzip, IDX) is named as such.</exception>
    /// <exception cref="FileNotFoundException">No file at <paramref name="path"/> ("x: file not found").</exception>
    /// <exception cref="IOException">The path is a directory ("x is a directory, expected a file"), or the file cannot be read.</exception>
    public static SafeTensorsFile Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var stream = InputFile.OpenRead(path);
        return Read(stream, path);
    }

    /// <summary>Reads and validates safetensors content from a seekable stream (from its current position to its end).</summary>
    /// <param name="stream">A readable, seekable stream.</param>
    /// <param name="sourceName">Name used in error messages.</param>
    /// <exception cref="SafeTensorsFormatException">The content breaks a rule of the format.</exception>
    /// <exception cref="ArgumentException">The stream cannot read or seek.</exception>
    public static SafeTensorsFile Read(Stream stream, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(sourceName);
        if (!stream.CanRead || !stream.CanSeek) throw new ArgumentException("SafeTensors.Read needs a readable, seekable stream", nameof(stream));
        return ReadValidated(stream, sourceName);
    }

    /// <summary>Reads and validates safetensors content held in memory.</summary>
    /// <param name="bytes">The whole file content.</param>
    /// <param name="sourceName">Name used in error messages.</param>
    /// <exception cref="SafeTensorsFormatException">The content breaks a rule of the format.</exception>
    public static SafeTensorsFile Deserialize(byte[] bytes, string sourceName = "<memory>")
    {
        ArgumentNullException.ThrowIfNull(bytes);
        using var stream = new MemoryStream(bytes, writable: false);
        return Read(stream, sourceName);
    }

    /// <summary>Reads a safetensors file straight into a <see cref="StateDict"/> (see <see cref="SafeTensorsFile.ToStateDict"/>).</summary>
    /// <exception cref="SafeTensorsFormatException">The file is malformed or holds a dtype a state dict cannot.</exception>
    public static StateDict ReadStateDict(string path) => Read(path).ToStateDict();

    /// <summary>Writes entries atomically (temporary sibling file, then rename).</summary>
    /// <param name="path">Target path; an existing file is replaced only once the new one is complete.</param>
    /// <param name="entries">The tensors; names must be unique.</param>
    /// <param name="metadata">Optional <c>__metadata__</c> strings (omitted from the header when null or empty).</param>
    /// <param name="layout">Data order: as given (default) or the reference library's alignment order.</param>
    /// <exception cref="ArgumentException">Two entries share a name or a metadata value is null; nothing is written.</exception>
    /// <exception cref="IOException">The file cannot be written; any previous file is left as it was.</exception>
    public static void Write(string path, IEnumerable<SafeTensorEntry> entries, IReadOnlyDictionary<string, string>? metadata = null,
        SafeTensorsLayout layout = SafeTensorsLayout.AsGiven)
    {
        var (header, ordered) = Prepare(entries, metadata, layout);
        AtomicFile.Write(path, stream => WriteBody(stream, header, ordered));
    }

    /// <summary>Writes float32 tensors (as F32, exact) atomically, in the dictionary's enumeration order.</summary>
    /// <exception cref="ArgumentException">A name is empty or reserved.</exception>
    /// <exception cref="IOException">The file cannot be written; any previous file is left as it was.</exception>
    public static void Write(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null,
        SafeTensorsLayout layout = SafeTensorsLayout.AsGiven)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        Write(path, tensors.Select(kv => SafeTensorEntry.FromTensor(kv.Key, kv.Value)), metadata, layout);
    }

    /// <summary>
    /// Writes a state dict atomically in key order: tensors as F32 (exact), int64 scalars as 0-rank I64, the layout
    /// PyTorch's <c>safetensors</c> tools read as a <c>state_dict</c>.
    /// </summary>
    /// <exception cref="IOException">The file cannot be written; any previous file is left as it was.</exception>
    public static void Write(string path, StateDict stateDict, IReadOnlyDictionary<string, string>? metadata = null,
        SafeTensorsLayout layout = SafeTensorsLayout.AsGiven)
    {
        ArgumentNullException.ThrowIfNull(stateDict);
        Write(path, stateDict.ToSafeTensorEntries(), metadata, layout);
    }

    /// <summary>The safetensors bytes for <paramref name="entries"/>, exactly as <see cref="Write(string, IEnumerable{SafeTensorEntry}, IReadOnlyDictionary{string, string}?, SafeTensorsLayout)"/> writes them.</summary>
    /// <exception cref="ArgumentException">Two entries share a name or a metadata value is null.</exception>
    public static byte[] Serialize(IEnumerable<SafeTensorEntry> entries, IReadOnlyDictionary<string, string>? metadata = null,
        SafeTensorsLayout layout = SafeTensorsLayout.AsGiven)
    {
        var (header, ordered) = Prepare(entries, metadata, layout);
        using var stream = new MemoryStream();
        WriteBody(stream, header, ordered);
        return stream.ToArray();
    }

    private static (byte[] Header, List<SafeTensorEntry> Ordered) Prepare(IEnumerable<SafeTensorEntry> entries,
        IReadOnlyDictionary<string, string>? metadata, SafeTensorsLayout layout)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var ordered = entries.ToList();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var e in ordered)
        {
            ArgumentNullException.ThrowIfNull(e, nameof(entries));
            if (!seen.Add(e.Name)) throw new ArgumentException($"SafeTensors.Write: two tensors are named '{e.Name}'", nameof(entries));
        }
        if (layout == SafeTensorsLayout.Aligned)
            ordered.Sort((a, b) => b.DType != a.DType ? b.DType.CompareTo(a.DType) : Utf8Compare(a.Name, b.Name));
        else if (layout != SafeTensorsLayout.AsGiven)
            throw new ArgumentOutOfRangeException(nameof(layout), layout, "unknown layout");

        var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject(MetadataKey);
                foreach (var kv in metadata)
                {
                    if (kv.Value is null) throw new ArgumentException($"SafeTensors.Write: metadata '{kv.Key}' has a null value", nameof(metadata));
                    json.WriteString(kv.Key, kv.Value);
                }
                json.WriteEndObject();
            }
            long offset = 0;
            foreach (var e in ordered)
            {
                json.WriteStartObject(e.Name);
                json.WriteString("dtype", e.DType.FormatName());
                json.WriteStartArray("shape");
                foreach (int d in e.Shape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                offset += e.RawBytes.Length;
                json.WriteNumberValue(offset);
                json.WriteEndArray();
                json.WriteEndObject();
            }
            json.WriteEndObject();
        }
        // Pad with spaces to a multiple of 8 so the data buffer starts 8-aligned, as the reference writer does.
        while (buffer.Length % 8 != 0) buffer.WriteByte((byte)' ');
        return (buffer.ToArray(), ordered);
    }

    private static void WriteBody(Stream stream, byte[] header, List<SafeTensorEntry> ordered)
    {
        Span<byte> prefix = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)header.Length);
        stream.Write(prefix);
        stream.Write(header);
        foreach (var e in ordered) stream.Write(e.RawBytes);
    }

    private static int Utf8Compare(string a, string b) =>
        Encoding.UTF8.GetBytes(a).AsSpan().SequenceCompareTo(Encoding.UTF8.GetBytes(b));
}
