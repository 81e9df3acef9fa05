using System.Buffers.Binary;
using System.Collections.ObjectModel;
using System.Text.Json;
using System.Text.Unicode;

namespace CnnSharp.IO;

public static partial class SafeTensors
{
    /// <summary>One header entry after the schema checks, before its range is checked against the others.</summary>
    private sealed record HeaderEntry(string Name, SafeTensorDType DType, long[] Dims, long Numel, long Begin, long End);

    private static SafeTensorsFile ReadValidated(Stream stream, string source)
    {
        long start = stream.Position;
        long fileLength = stream.Length - start;
        Span<byte> prefix = stackalloc byte[8];
        int prefixLength = stream.ReadAtLeast(prefix, prefix.Length, throwOnEndOfStream: false);
        if (fileLength < 8 || prefixLength < 8)
            throw PrefixError(source, prefix[..prefixLength], $"file is {fileLength} bytes, too short for the 8-byte header length at offset 0");

        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (n > MaxHeaderLength)
            throw PrefixError(source, prefix, $"header length {n} (file bytes 0..8) exceeds the {MaxHeaderLength}-byte limit");
        long headerLength = (long)n;
        if (headerLength > fileLength - 8)
            throw PrefixError(source, prefix, $"header length {headerLength} (file bytes 0..8) runs past the end of the file: {fileLength} bytes leave at most {fileLength - 8}");

        // Bounded by both the 100 MB cap and the real file length, so this allocation is safe.
        var headerBytes = new byte[headerLength];
        stream.ReadExactly(headerBytes);
        long dataStart = 8 + headerLength;
        long bufferLength = fileLength - dataStart;

        var (parsed, metadata) = ParseHeader(headerBytes, source);
        ValidateRanges(parsed, source, dataStart, bufferLength, fileLength);

        // Every check passed: each range is inside the file and they tile the buffer, so the reads below allocate
        // exactly the file's own bytes.
        var entries = new SafeTensorEntry[parsed.Count];
        for (int i = 0; i < parsed.Count; i++)
        {
            var h = parsed[i];
            if (h.Numel > int.MaxValue || h.Dims.Any(d => d > int.MaxValue))
                throw Error(source, h.Name, dataStart + h.Begin,
                    $"tensor '{h.Name}': shape [{string.Join(", ", h.Dims)}] has more elements or a larger dimension than CnnSharp tensors hold ({int.MaxValue})");
            long length = h.End - h.Begin;
            if (length > Array.MaxLength)
                throw Error(source, h.Name, dataStart + h.Begin, $"tensor '{h.Name}' is {length} bytes, more than one array can hold");
            var bytes = new byte[length];
            stream.Position = start + dataStart + h.Begin;
            try
            {
                stream.ReadExactly(bytes);
            }
            catch (EndOfStreamException e)
            {
                throw Error(source, h.Name, dataStart + h.Begin, $"tensor '{h.Name}': the file ended while reading file bytes {dataStart + h.Begin}..{dataStart + h.End} (it changed while being read)", e);
            }
            entries[i] = new SafeTensorEntry(h.Name, h.DType, new Shape(h.Dims.Select(d => (int)d).ToArray()), bytes);
        }
        return new SafeTensorsFile(source, entries, metadata);
    }

    private static (List<HeaderEntry> Entries, IReadOnlyDictionary<string, string> Metadata) ParseHeader(byte[] headerBytes, string source)
    {
        long headerEnd = 8 + headerBytes.Length;
        if (!Utf8.IsValid(headerBytes))
        {
            Utf8.ToUtf16(headerBytes, new char[headerBytes.Length], out int valid, out _, replaceInvalidSequences: false);
            throw Error(source, null, 8 + valid, $"header (file bytes 8..{headerEnd}) is not valid UTF-8 JSON: invalid UTF-8 at file byte {8 + valid}");
        }
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(headerBytes, new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (JsonException e)
        {
            long? offset = e.LineNumber == 0 && e.BytePositionInLine is long p ? 8 + p : null;
            string where = offset is long o ? $" at file byte {o}" : e.LineNumber is long line ? $" at header line {line + 1}" : "";
            throw Error(source, null, offset ?? 8, $"header (file bytes 8..{headerEnd}) is not valid UTF-8 JSON{where}: {e.Message}", e);
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw Error(source, null, 8, $"header (file bytes 8..{headerEnd}) must be a JSON object, found {Describe(root.ValueKind)}");

            var entries = new List<HeaderEntry>();
            IReadOnlyDictionary<string, string> metadata = SafeTensorsFile.EmptyMetadata;
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in root.EnumerateObject())
            {
                string name = property.Name;
                if (!names.Add(name))
                    throw Error(source, name, 8, $"the header (file bytes 8..{headerEnd}) names '{name}' twice; keys must be unique");
                if (name == MetadataKey) metadata = ParseMetadata(property.Value, source);
                else entries.Add(ParseEntry(name, property.Value, source));
            }
            return (entries, metadata);
        }
    }

    private static IReadOnlyDictionary<string, string> ParseMetadata(JsonElement value, string source)
    {
        if (value.ValueKind == JsonValueKind.Null) return SafeTensorsFile.EmptyMetadata;
        if (value.ValueKind != JsonValueKind.Object)
            throw Error(source, null, 8, $"'{MetadataKey}' must be an object of strings, found {Describe(value.ValueKind)}");
        var dict = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var p in value.EnumerateObject())
        {
            if (p.Value.ValueKind != JsonValueKind.String)
                throw Error(source, null, 8, $"'{MetadataKey}' entry '{p.Name}' must be a string, found {Describe(p.Value.ValueKind)}");
            if (!dict.TryAdd(p.Name, p.Value.GetString()!))
                throw Error(source, null, 8, $"'{MetadataKey}' names '{p.Name}' twice; keys must be unique");
        }
        return new ReadOnlyDictionary<string, string>(dict);
    }

    private static HeaderEntry ParseEntry(string name, JsonElement value, string source)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw Error(source, name, 8, $"tensor '{name}': expected an object with dtype, shape and data_offsets, found {Describe(value.ValueKind)}");

        JsonElement? dtypeElement = null, shapeElement = null, offsetsElement = null;
        foreach (var p in value.EnumerateObject())
        {
            switch (p.Name)
            {
                case "dtype" when dtypeElement is null: dtypeElement = p.Value; break;
                case "shape" when shapeElement is null: shapeElement = p.Value; break;
                case "data_offsets" when offsetsElement is null: offsetsElement = p.Value; break;
                case "dtype" or "shape" or "data_offsets":
                    throw Error(source, name, 8, $"tensor '{name}': field '{p.Name}' appears twice");
                default:
                    throw Error(source, name, 8, $"tensor '{name}': unknown field '{p.Name}' (expected dtype, shape and data_offsets)");
            }
        }
        if (dtypeElement is null || shapeElement is null || offsetsElement is null)
        {
            string missing = dtypeElement is null ? "dtype" : shapeElement is null ? "shape" : "data_offsets";
            throw Error(source, name, 8, $"tensor '{name}': missing field '{missing}'");
        }

        var dtypeValue = dtypeElement.Value;
        if (dtypeValue.ValueKind != JsonValueKind.String)
            throw Error(source, name, 8, $"tensor '{name}': dtype must be a string, found {Describe(dtypeValue.ValueKind)}");
        string dtypeName = dtypeValue.GetString()!;
        if (!SafeTensorDTypes.TryParse(dtypeName, out var dtype))
            throw Error(source, name, 8, $"tensor '{name}': unknown dtype '{dtypeName}'");

        var shape = shapeElement.Value;
        if (shape.ValueKind != JsonValueKind.Array)
            throw Error(source, name, 8, $"tensor '{name}': shape must be an array of non-negative integers, found {Describe(shape.ValueKind)}");
        var dims = new List<long>();
        foreach (var d in shape.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out long dim) || dim < 0)
                throw Error(source, name, 8, $"tensor '{name}': shape dimension {dims.Count} is {d.GetRawText()}, expected a non-negative integer");
            dims.Add(dim);
        }

        var offsets = offsetsElement.Value;
        if (offsets.ValueKind != JsonValueKind.Array || offsets.GetArrayLength() != 2)
            throw Error(source, name, 8, $"tensor '{name}': data_offsets must be [begin, end], found {Truncate(offsets.GetRawText())}");
        long begin = ReadOffset(offsets[0], name, source);
        long end = ReadOffset(offsets[1], name, source);
        if (end < begin)
            throw Error(source, name, 8, $"tensor '{name}': data_offsets [{begin}, {end}] end before they begin");

        // Element count and byte size, overflow-checked before anything trusts them.
        long numel = 1;
        foreach (long d in dims)
        {
            if (!TryMultiply(numel, d, out numel))
                throw Error(source, name, 8, $"tensor '{name}': shape [{string.Join(", ", dims)}] overflows a 64-bit element count");
        }
        if (!TryMultiply(numel, dtype.ElementSize(), out long nbytes))
            throw Error(source, name, 8, $"tensor '{name}': shape [{string.Join(", ", dims)}] of {dtypeName} overflows a 64-bit byte count");
        if (end - begin != nbytes)
            throw Error(source, name, 8,
                $"tensor '{name}': shape [{string.Join(", ", dims)}] of {dtypeName} needs {nbytes} bytes ({numel} elements x {dtype.ElementSize()}) but data_offsets [{begin}, {end}] span {end - begin}");
        return new HeaderEntry(name, dtype, dims.ToArray(), numel, begin, end);
    }

    /// <summary>Checks that the entries' ranges lie in the buffer and tile it exactly; sorts them by offset.</summary>
    private static void ValidateRanges(List<HeaderEntry> entries, string source, long dataStart, long bufferLength, long fileLength)
    {
        foreach (var e in entries)
        {
            if (e.End > bufferLength)
                throw Error(source, e.Name, dataStart + e.Begin,
                    $"tensor '{e.Name}': data_offsets [{e.Begin}, {e.End}] (file bytes {dataStart + e.Begin}..{dataStart + e.End}) run past the end of the file: the data buffer is {bufferLength} bytes (file bytes {dataStart}..{fileLength})");
        }
        entries.Sort((a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End.CompareTo(b.End));
        long expected = 0;
        HeaderEntry? previous = null;
        foreach (var e in entries)
        {
            if (e.Begin < expected)
                throw Error(source, e.Name, dataStart + e.Begin,
                    $"tensor '{e.Name}': data_offsets [{e.Begin}, {e.End}] overlap tensor '{previous!.Name}' [{previous.Begin}, {previous.End}] (file bytes {dataStart + e.Begin}..{dataStart + expected} are shared)");
            if (e.Begin > expected)
                throw Error(source, e.Name, dataStart + expected,
                    previous is null
                        ? $"tensor '{e.Name}': data_offsets [{e.Begin}, {e.End}] leave a hole: the data buffer must start with a tensor at offset 0 (file bytes {dataStart}..{dataStart + e.Begin} belong to no tensor)"
                        : $"tensor '{e.Name}': data_offsets [{e.Begin}, {e.End}] leave a hole after tensor '{previous.Name}' [{previous.Begin}, {previous.End}] (file bytes {dataStart + expected}..{dataStart + e.Begin} belong to no tensor)");
            expected = e.End;
            previous = e;
        }
        if (expected != bufferLength)
            throw Error(source, null, dataStart + expected,
                $"the tensors end at data offset {expected} (file byte {dataStart + expected}) but the file has {bufferLength - expected} more bytes up to {fileLength}; trailing bytes are not allowed");
    }

    private static long ReadOffset(JsonElement element, string name, string source)
    {
        if (element.ValueKind != JsonValueKind.Number || !element.TryGetInt64(out long value) || value < 0)
            throw Error(source, name, 8, $"tensor '{name}': data offset {Truncate(element.GetRawText())} is not a non-negative integer below 2^63");
        return value;
    }

    private static bool TryMultiply(long a, long b, out long product)
    {
        try
        {
            product = checked(a * b);
            return true;
        }
        catch (OverflowException)
        {
            product = 0;
            return false;
        }
    }

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => kind.ToString(),
    };

    private static string Truncate(string text) => text.Length <= 60 ? text : text[..60] + "...";

    /// <summary>
    /// The error for a file whose 8-byte prefix is no plausible header length: when its first bytes are another format's
    /// signature, "x.png is a PNG image, not a safetensors file" (the header length read from a PNG says nothing useful).
    /// </summary>
    private static SafeTensorsFormatException PrefixError(string source, ReadOnlySpan<byte> head, string message) =>
        FileSignature.Describe(head) is string kind
            ? new SafeTensorsFormatException(source, null, 0, $"{source} is {kind}, not a safetensors file")
            : Error(source, null, 0, message);

    private static SafeTensorsFormatException Error(string source, string? tensor, long? offset, string message, Exception? inner = null) =>
        new(source, tensor, offset, $"{source}: {message}", inner);
}
