using System.IO.Compression;

namespace CnnSharp.IO.Torch;

/// <summary>
/// The zip container <c>torch.save</c> writes (PyTorch 1.6 and later): <c>&lt;name&gt;/data.pkl</c> (the pickle),
/// <c>&lt;name&gt;/data/&lt;key&gt;</c> (one entry per storage, raw little-endian elements), <c>&lt;name&gt;/version</c>,
/// and in newer versions <c>&lt;name&gt;/byteorder</c>. Entries are looked up by exact name, never extracted to disk.
/// </summary>
/// <remarks>
/// Defences: duplicate entry names (two readers could disagree on which one counts) and several candidate
/// <c>data.pkl</c> entries are refused; storage keys are plain names (no path separators or dots-only segments); an
/// entry's declared size is checked against what the pickle claims, and against the largest ratio deflate can achieve
/// (1032:1) before its bytes are allocated, and the bytes read must match the declared size exactly.
/// </remarks>
internal sealed class TorchArchive : IDisposable
{
    /// <summary>The largest data.pkl read: a state dict's pickle is ~100 bytes per tensor, so 64 MiB is ~600,000 tensors.</summary>
    public const int MaxPickleBytes = 64 << 20;

    // Deflate emits at least one bit-code per 258 bytes of output, which bounds its ratio at about 1032:1.
    private const long MaxDeflateRatio = 1032;

    private readonly ZipArchive _zip;
    private readonly string _file;
    private readonly Dictionary<string, ZipArchiveEntry> _entries = new(StringComparer.Ordinal);
    private readonly Dictionary<string, byte[]> _storageBytes = new(StringComparer.Ordinal);

    private TorchArchive(ZipArchive zip, string file, string prefix)
    {
        _zip = zip;
        _file = file;
        Prefix = prefix;
    }

    /// <summary>The archive's top folder (the file name torch.save was given, without extension).</summary>
    public string Prefix { get; }

    /// <summary>The pickle's entry name, <c>&lt;prefix&gt;/data.pkl</c>.</summary>
    public string PickleEntry => Prefix + "/data.pkl";

    /// <summary>Opens the zip in <paramref name="stream"/> and locates the torch.save layout.</summary>
    /// <exception cref="TorchFormatException">Not a zip, a corrupt zip, or not torch.save's layout (the message says what it is instead when it can tell).</exception>
    public static TorchArchive Open(Stream stream, string file)
    {
        Span<byte> head = stackalloc byte[8];
        long start = stream.Position;
        int got = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        stream.Position = start;
        if (got < 4 || head[0] != (byte)'P' || head[1] != (byte)'K')
            throw new TorchFormatException(file, null, null, NotAZip(head[..got]));

        ZipArchive? zip = null;
        try
        {
            zip = new ZipArchive(stream, ZipArchiveMode.Read, leaveOpen: true);
            _ = zip.Entries.Count; // the central directory is read lazily; read it here, where its errors are reported
        }
        catch (InvalidDataException e)
        {
            zip?.Dispose();
            throw new TorchFormatException(file, null, null, $"not a readable zip archive ({e.Message})", e);
        }
        try
        {
            var archive = new TorchArchive(zip, file, FindPrefix(zip, file));
            foreach (var entry in zip.Entries)
                if (!archive._entries.TryAdd(entry.FullName, entry))
                    throw new TorchFormatException(file, entry.FullName, null, "the zip holds two entries of this name; refusing an ambiguous archive");
            archive.CheckLayout();
            return archive;
        }
        catch
        {
            zip.Dispose();
            throw;
        }
    }

    private static string NotAZip(ReadOnlySpan<byte> head)
    {
        if (head is [0x80, 0x02, 0x8a, 0x0a, ..])
            return "a legacy torch.save file (PyTorch before 1.6, or _use_new_zipfile_serialization=False), which is not supported: " +
                   "load it in PyTorch and save it again with torch.save (zip format) or safetensors";
        string? kind = FileSignature.Describe(head);
        return kind is null ? "not a PyTorch .pt/.pth file (torch.save writes a zip archive, which starts with 'PK')"
            : $"this is {kind}, not a PyTorch .pt/.pth file (a zip archive written by torch.save)";
    }

    private static string FindPrefix(ZipArchive zip, string file)
    {
        var candidates = zip.Entries.Select(e => e.FullName)
            .Where(n => n.EndsWith("/data.pkl", StringComparison.Ordinal) && n.IndexOf('/') == n.Length - "/data.pkl".Length)
            .Distinct(StringComparer.Ordinal).ToList();
        if (candidates.Count == 0)
            throw new TorchFormatException(file, null, null, "the zip archive has no <name>/data.pkl entry, so it was not written by torch.save");
        if (candidates.Count > 1)
            throw new TorchFormatException(file, null, null, $"the zip archive has {candidates.Count} data.pkl entries ({string.Join(", ", candidates.Take(3))}); expected one");
        string prefix = candidates[0][..^"/data.pkl".Length];
        if (prefix.Length == 0 || prefix is "." or ".." || prefix.Contains('\\', StringComparison.Ordinal))
            throw new TorchFormatException(file, candidates[0], null, "the archive's top folder name is not a plain name");
        return prefix;
    }

    private void CheckLayout()
    {
        if (_entries.ContainsKey(Prefix + "/constants.pkl") || _entries.Keys.Any(k => k.StartsWith(Prefix + "/code/", StringComparison.Ordinal)))
            throw new TorchFormatException(_file, null, null,
                "this is a TorchScript archive (torch.jit.save), which holds code; only torch.save(model.state_dict()) files are read");
        if (_entries.TryGetValue(Prefix + "/byteorder", out var order))
        {
            string text = System.Text.Encoding.ASCII.GetString(ReadEntry(order, 16));
            if (text != "little")
                throw new TorchFormatException(_file, order.FullName, null, $"byte order '{text}' is not supported (only little-endian files are read)");
        }
    }

    /// <summary>The pickle's bytes.</summary>
    public byte[] ReadPickle()
    {
        var entry = _entries[PickleEntry];
        if (entry.Length > MaxPickleBytes)
            throw new TorchFormatException(_file, entry.FullName, null, $"the pickle declares {entry.Length} bytes, more than the {MaxPickleBytes} read");
        return ReadEntry(entry, MaxPickleBytes);
    }

    /// <summary>
    /// Resolves a persistent id <c>('storage', torch.XStorage, key, location, numel)</c>: checks the key and that entry
    /// <c>data/&lt;key&gt;</c> exists and declares exactly numel elements, without reading it.
    /// </summary>
    public TorchStorage ResolveStorage(object[] pid, long offset)
    {
        if (pid.Length != 5 || pid[0] is not "storage" || pid[1] is not PickleGlobal type || pid[2] is not string key || pid[3] is not string || pid[4] is not long numel)
            throw new TorchFormatException(_file, PickleEntry, offset,
                $"persistent id ({string.Join(", ", pid.Select(PickleMachine.Describe))}) is not ('storage', storage type, key, location, numel)");
        if (!TorchStorageTypes.TryGet(type, out var dtype))
            throw new TorchFormatException(_file, PickleEntry, offset, $"persistent id names {type.FullName}, which is not a storage type");
        if (key.Length == 0 || key.Length > 64 || !key.All(c => char.IsAsciiLetterOrDigit(c) || c == '_'))
            throw new TorchFormatException(_file, PickleEntry, offset, $"storage key '{Truncate(key)}' is not a plain name (letters, digits, '_'); refusing a path");
        if (numel < 0) throw new TorchFormatException(_file, PickleEntry, offset, $"storage '{key}' has a negative size {numel}");
        string name = StorageEntry(key);
        if (!_entries.TryGetValue(name, out var entry))
            throw new TorchFormatException(_file, PickleEntry, offset, $"storage '{key}' is referenced but the archive has no entry {name}");
        int size = dtype.ElementSize();
        if (numel > Array.MaxLength / size)
            throw new TorchFormatException(_file, name, null, $"storage '{key}' claims {numel} elements, more than one array can hold");
        if (entry.Length != numel * size)
            throw new TorchFormatException(_file, name, null,
                $"the entry declares {entry.Length} bytes but the pickle says storage '{key}' holds {numel} {dtype.FormatName()} elements ({numel * size} bytes)");
        return new TorchStorage(key, dtype, numel);
    }

    /// <summary>A storage's bytes, read once and shared by every tensor that views it.</summary>
    public byte[] StorageBytes(TorchStorage storage)
    {
        if (!_storageBytes.TryGetValue(storage.Key, out var bytes))
        {
            var entry = _entries[StorageEntry(storage.Key)];
            bytes = ReadEntry(entry, entry.Length);
            _storageBytes.Add(storage.Key, bytes);
        }
        return bytes;
    }

    private string StorageEntry(string key) => $"{Prefix}/data/{key}";

    /// <summary>
    /// Reads an entry whose declared length is at most <paramref name="limit"/>, refusing a declared length that
    /// compression could not produce and any stream that delivers more or fewer bytes than declared.
    /// </summary>
    private byte[] ReadEntry(ZipArchiveEntry entry, long limit)
    {
        long length = entry.Length;
        if (length > limit || length > Array.MaxLength)
            throw new TorchFormatException(_file, entry.FullName, null, $"the entry declares {length} bytes, more than the {Math.Min(limit, Array.MaxLength)} allowed");
        if (length > entry.CompressedLength * MaxDeflateRatio + 1024)
            throw new TorchFormatException(_file, entry.FullName, null,
                $"the entry declares {length} bytes from {entry.CompressedLength} compressed bytes, a ratio no zip compression reaches (a zip bomb?)");
        var bytes = new byte[length];
        try
        {
            using var stream = entry.Open();
            int read = stream.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false);
            if (read != length || stream.ReadByte() >= 0)
                throw new TorchFormatException(_file, entry.FullName, null, $"the entry declares {length} bytes but holds {(read != length ? read.ToString(System.Globalization.CultureInfo.InvariantCulture) : "more")}");
        }
        catch (InvalidDataException e)
        {
            throw new TorchFormatException(_file, entry.FullName, null, $"the entry cannot be read ({e.Message})", e);
        }
        return bytes;
    }

    private static string Truncate(string s) => s.Length <= 40 ? s : s[..40] + "...";

    public void Dispose() => _zip.Dispose();
}
