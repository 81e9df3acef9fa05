using CnnSharp.IO.Torch;

namespace CnnSharp.IO;

/// <summary>
/// Reads PyTorch <c>.pt</c>/<c>.pth</c> files written by <c>torch.save(model.state_dict(), path)</c> (the zip format of
/// PyTorch 1.6 and later) <b>without executing any code</b>: the pickle inside is run by a restricted machine that knows
/// only the opcodes and the few globals a state dict needs, and refuses everything else with
/// <see cref="UnsafePickleException"/> naming the global (<c>posix.system</c>, <c>builtins.eval</c>) and its offset.
/// </summary>
/// <remarks>
/// <para>The result is the same validated tensor collection <see cref="SafeTensors.Read(string)"/> returns: entries in
/// the state dict's order with their stored dtype (F32, F64, F16, BF16, I64, I32, I16, I8, U8, BOOL) and shape,
/// contiguous row-major. Views are materialised: a transposed or sliced tensor, or several tensors sharing one
/// storage, each become their own contiguous entry with exactly the values PyTorch shows. <c>nn.Parameter</c>s are
/// read as their data.</para>
/// <para>Loading into a module: <c>model.LoadTorchFile(path)</c> (<see cref="ModuleSerialization.LoadTorchFile"/>), or
/// <c>model.LoadStateDict(TorchFile.Load(path))</c>. Both accept PyTorch's int64 <c>num_batches_tracked</c>.</para>
/// <para>A training checkpoint that nests the state dict (<c>torch.save({"model": sd, "epoch": 3}, path)</c>) is read
/// with <c>entry: "model"</c>. Not supported, each with a clear <see cref="TorchFormatException"/>: the legacy
/// pre-1.6 format (a bare pickle), TorchScript archives (<c>torch.jit.save</c>), whole pickled models
/// (<c>torch.save(model)</c>: its class is not on the allow-list), big-endian files, sparse and quantized tensors.</para>
/// </remarks>
/// <example><code>
/// var model = ResNet.ResNet18();
/// model.LoadTorchFile("resnet18.pth");        // or: model.LoadStateDict(TorchFile.Load("resnet18.pth"));
/// </code></example>
public static class TorchFile
{
    /// <summary>Reads the state dict in a <c>.pt</c>/<c>.pth</c> file.</summary>
    /// <param name="path">The file (used in error messages).</param>
    /// <param name="entry">For a checkpoint dict, the key of the state dict inside it (<c>"model"</c>,
    /// <c>"state_dict"</c>); null when the file is the state dict itself.</param>
    /// <returns>The tensors in the file's order, with <see cref="SafeTensorsFile.Source"/> = <paramref name="path"/>.</returns>
    /// <exception cref="UnsafePickleException">The pickle asks for a global or an opcode outside the allow-list; nothing was run.</exception>
    /// <exception cref="TorchFormatException">Not a torch.save zip, a malformed pickle, a missing or mis-sized storage, a view
    /// reaching outside its storage, or a value that is not a tensor (the message names the file, entry and offset).</exception>
    /// <exception cref="FileNotFoundException">No file at <paramref name="path"/>.</exception>
    /// <exception cref="IOException">The path is a directory or the file cannot be read.</exception>
    public static SafeTensorsFile Read(string path, string? entry = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var stream = InputFile.OpenRead(path);
        return Read(stream, path, entry);
    }

    /// <summary>Reads the state dict from a readable, seekable stream holding a whole <c>.pt</c> file.</summary>
    /// <param name="stream">The file content, from its current position.</param>
    /// <param name="sourceName">Name used in error messages and as <see cref="SafeTensorsFile.Source"/>.</param>
    /// <param name="entry">For a checkpoint dict, the key of the state dict inside it; null for a bare state dict.</param>
    /// <exception cref="UnsafePickleException">The pickle asks for a global or an opcode outside the allow-list.</exception>
    /// <exception cref="TorchFormatException">The content is not a readable torch.save state dict.</exception>
    /// <exception cref="ArgumentException">The stream cannot read or seek.</exception>
    public static SafeTensorsFile Read(Stream stream, string sourceName, string? entry = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(sourceName);
        if (!stream.CanRead || !stream.CanSeek) throw new ArgumentException("TorchFile.Read needs a readable, seekable stream", nameof(stream));
        using var archive = TorchArchive.Open(stream, sourceName);
        var root = new PickleMachine(archive.ReadPickle(), sourceName, archive.PickleEntry, archive.ResolveStorage).Run();
        var dict = SelectStateDict(root, sourceName, archive.PickleEntry, entry);
        var entries = new List<SafeTensorEntry>(dict.Count);
        foreach (var (key, value) in dict.Items)
        {
            string name = (string)key; // SelectStateDict checked every key is a string
            var tensor = (TorchTensor)value;
            try
            {
                entries.Add(new SafeTensorEntry(name, tensor.Storage.DType, new Shape(tensor.Size), StridedCopy.Contiguous(tensor, archive.StorageBytes(tensor.Storage))));
            }
            catch (ArgumentException e)
            {
                throw new TorchFormatException(sourceName, archive.PickleEntry, null, $"tensor '{name}': {e.Message}", e);
            }
        }
        return new SafeTensorsFile(sourceName, entries, SafeTensorsFile.EmptyMetadata);
    }

    /// <summary>Reads a <c>.pt</c> file held in memory (for tests and fuzzing).</summary>
    /// <inheritdoc cref="Read(Stream, string, string?)"/>
    public static SafeTensorsFile Deserialize(byte[] bytes, string sourceName = "<memory>", string? entry = null)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        using var stream = new MemoryStream(bytes, writable: false);
        return Read(stream, sourceName, entry);
    }

    /// <summary>
    /// Reads a <c>.pt</c> file straight into a <see cref="StateDict"/>: floating-point tensors as float32 (F16/BF16
    /// exactly, F64 rounded), one-element int64 tensors (<c>num_batches_tracked</c>) as int64 scalars.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="entry">For a checkpoint dict, the key of the state dict inside it; null for a bare state dict.</param>
    /// <exception cref="UnsafePickleException">The pickle asks for a global or an opcode outside the allow-list.</exception>
    /// <exception cref="TorchFormatException">The file is not a readable torch.save state dict.</exception>
    /// <exception cref="SafeTensorsFormatException">A tensor has a dtype a state dict cannot hold (an integer tensor of several elements, bool, ...).</exception>
    public static StateDict Load(string path, string? entry = null) => Read(path, entry).ToStateDict();

    private static PickleDict SelectStateDict(object root, string file, string pickleEntry, string? entry)
    {
        if (root is not PickleDict dict)
            throw new TorchFormatException(file, pickleEntry, null, $"the file holds a {PickleMachine.Describe(root)}, not a state dict (a dict of tensors)");
        if (entry is not null)
        {
            if (!dict.TryGetValue(entry, out var inner))
                throw new TorchFormatException(file, pickleEntry, null,
                    $"no key '{entry}' in the file's dict (keys: {string.Join(", ", dict.Items.Take(10).Select(i => Key(i.Key)))})");
            if (inner is not PickleDict innerDict)
                throw new TorchFormatException(file, pickleEntry, null, $"'{entry}' holds a {PickleMachine.Describe(inner)}, not a state dict");
            dict = innerDict;
        }
        var wrong = dict.Items.Where(i => i.Key is not string || i.Value is not TorchTensor).ToList();
        if (wrong.Count == 0) return dict;
        var nested = wrong.Where(i => i.Key is string && i.Value is PickleDict).Select(i => $"'{i.Key}'").ToList();
        string hint = nested.Count > 0 && entry is null
            ? $"; this looks like a checkpoint: pass entry {string.Join(" or ", nested.Take(3))} to read the state dict inside it"
            : "";
        throw new TorchFormatException(file, pickleEntry, null,
            $"not a state dict: {string.Join(", ", wrong.Take(5).Select(i => $"{Key(i.Key)} holds a {PickleMachine.Describe(i.Value)}"))}" +
            $"{(wrong.Count > 5 ? $" and {wrong.Count - 5} more" : "")} (expected tensors under string keys){hint}");
    }

    private static string Key(object key) => key is string s ? $"'{s}'" : PickleMachine.Describe(key) + " key";
}
