using CnnSharp.Modules;

namespace CnnSharp.IO;

/// <summary>
/// PyTorch state-dict interop for modules: loads a <c>model.state_dict()</c> saved with PyTorch's <c>safetensors</c>
/// tools into a CnnSharp module, and saves a module in the same layout, so files travel both ways bit for bit.
/// </summary>
/// <remarks>
/// <para>Keys are PyTorch's (<c>layer1.0.weight</c>, <c>layer1.1.running_mean</c>, ...), as <see cref="Module.StateDict"/>
/// names them. BatchNorm's <c>num_batches_tracked</c> is a shape-() float32 buffer in CnnSharp and a 0-rank I64 in
/// PyTorch: saving writes it as I64, loading accepts any integer dtype (or a float) for it. A counter above 2^24 does not
/// fit a float32 exactly and is rounded to the nearest float32 (it only matters for a cumulative-average BatchNorm).</para>
/// <para>Loading converts F16 and BF16 exactly and F64 to the nearest float32. Every problem (missing and unexpected
/// keys under <c>strict</c>, shape mismatches, entries whose dtype cannot become a parameter) is reported in one
/// <see cref="StateDictException"/>, and on any error the module is left unchanged.</para>
/// <para>Saving writes F32 (exact) in state-dict order with <c>__metadata__ {"format": "pt"}</c>, atomically. That is the
/// layout of <c>safetensors.torch.save_file(model.state_dict(), path, metadata={"format": "pt"})</c> for a state dict
/// whose tensors are contiguous, so loading such a file and saving it again reproduces it byte for byte.</para>
/// </remarks>
public static class ModuleSerialization
{
    /// <summary>The metadata <see cref="SaveSafetensors"/> writes by default (PyTorch's marker for torch tensors).</summary>
    public static IReadOnlyDictionary<string, string> PyTorchMetadata { get; } =
        new System.Collections.ObjectModel.ReadOnlyDictionary<string, string>(new Dictionary<string, string> { ["format"] = "pt" });

    /// <summary>Loads a PyTorch-style safetensors state dict from <paramref name="path"/> into <paramref name="module"/>.</summary>
    /// <param name="module">Receives the values; unchanged when anything is wrong.</param>
    /// <param name="path">A safetensors file (validated by <see cref="SafeTensors.Read(string)"/> first).</param>
    /// <param name="strict">Require the file's keys to match the module's exactly (PyTorch's default).</param>
    /// <returns>The keys left unmatched (both empty after a strict load).</returns>
    /// <exception cref="SafeTensorsFormatException">The file is not valid safetensors.</exception>
    /// <exception cref="StateDictException">Keys are missing or unexpected (strict), a shape differs, or an entry's dtype cannot be loaded; all listed together.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static StateDictLoadResult LoadSafetensors(this Module module, string path, bool strict = true)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentException.ThrowIfNullOrEmpty(path);
        return module.LoadSafetensors(SafeTensors.Read(path), strict);
    }

    /// <summary>Loads the entries of an already-read safetensors file into <paramref name="module"/>.</summary>
    /// <param name="module">Receives the values; unchanged when anything is wrong.</param>
    /// <param name="file">The validated file content.</param>
    /// <param name="strict">Require the file's keys to match the module's exactly.</param>
    /// <returns>The keys left unmatched (both empty after a strict load).</returns>
    /// <exception cref="StateDictException">Keys are missing or unexpected (strict), a shape differs, or an entry's dtype cannot be loaded; all listed together.</exception>
    public static StateDictLoadResult LoadSafetensors(this Module module, SafeTensorsFile file, bool strict = true)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(file);
        var counters = module.CounterKeys();
        var own = module.StateDict();

        // The file's entries become a state dict (float dtypes converted, integer batch counters as their value); entries
        // that cannot become a float32 tensor are named, and the module's one load routine does the key matching.
        var values = new StateDict();
        var unusable = new List<string>();
        var problems = new List<string>();
        foreach (var entry in file.Entries)
        {
            string key = entry.Name;
            if (entry.IsFloatingPoint)
            {
                values.Add(key, entry.ToTensor());
                continue;
            }
            unusable.Add(key); // until it is converted below
            if (!own.TryGetValue(key, out var target)) continue; // reported as unexpected
            bool counter = counters.Contains(key);
            if (counter ? entry.ElementCount != 1 : entry.Shape != target.Shape)
            {
                problems.Add($"{key}: shape {entry.Shape} in the file, {target.Shape} in the model");
            }
            else if (counter && IsInteger(entry.DType))
            {
                try
                {
                    values.AddInt64(key, entry.ToInt64Array()[0]);
                    unusable.Remove(key);
                }
                catch (InvalidOperationException e)
                {
                    problems.Add($"{key}: {e.Message}");
                }
            }
            else
            {
                problems.Add(counter
                    ? $"{key}: dtype {entry.DType.FormatName()} cannot hold a batch counter (expected an integer or floating-point dtype)"
                    : $"{key}: dtype {entry.DType.FormatName()} cannot be loaded into a float32 tensor (expected F32, F16, BF16 or F64)");
            }
        }
        return module.LoadStateDict(values, strict, $"{file.Source}: cannot load into {module.GetType().Name}", "the file", unusable, problems);
    }

    /// <summary>
    /// Loads a PyTorch <c>.pt</c>/<c>.pth</c> state dict (<c>torch.save(model.state_dict(), path)</c>) into
    /// <paramref name="module"/>, reading it with <see cref="TorchFile.Read(string, string?)"/>, which never executes the
    /// file's pickle; key matching, dtype conversion and errors as for <see cref="LoadSafetensors(Module, string, bool)"/>.
    /// </summary>
    /// <param name="module">Receives the values; unchanged when anything is wrong.</param>
    /// <param name="path">The .pt/.pth file.</param>
    /// <param name="strict">Require the file's keys to match the module's exactly (PyTorch's default).</param>
    /// <param name="entry">For a checkpoint dict, the key of the state dict inside it (<c>"model"</c>); null for a bare state dict.</param>
    /// <returns>The keys left unmatched (both empty after a strict load).</returns>
    /// <exception cref="UnsafePickleException">The file's pickle asks for a global or opcode outside the allow-list; nothing was run.</exception>
    /// <exception cref="TorchFormatException">The file is not a readable torch.save state dict.</exception>
    /// <exception cref="StateDictException">Keys are missing or unexpected (strict), a shape differs, or an entry's dtype cannot be loaded.</exception>
    public static StateDictLoadResult LoadTorchFile(this Module module, string path, bool strict = true, string? entry = null)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentException.ThrowIfNullOrEmpty(path);
        return module.LoadSafetensors(TorchFile.Read(path, entry), strict);
    }

    /// <summary>
    /// The safetensors entries for <paramref name="stateDict"/> in key order: tensors as <paramref name="floatDType"/>
    /// (F32 by default, exact), int64 scalars as 0-rank I64, float64 scalars as 0-rank F64 (exact).
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="floatDType"/> is not F16, BF16, F32 or F64.</exception>
    public static IReadOnlyList<SafeTensorEntry> ToSafeTensorEntries(this StateDict stateDict, SafeTensorDType floatDType = SafeTensorDType.Float32)
    {
        ArgumentNullException.ThrowIfNull(stateDict);
        var list = new List<SafeTensorEntry>(stateDict.Count);
        foreach (var (key, tensor) in stateDict)
            list.Add(stateDict.TryGetInt64(key, out long value) ? SafeTensorEntry.Int64Scalar(key, value)
                : stateDict.TryGetFloat64(key, out double exact) ? SafeTensorEntry.Float64Scalar(key, exact)
                : SafeTensorEntry.FromTensor(key, tensor, floatDType));
        return list;
    }

    /// <summary>
    /// The module's state dict as safetensors entries in state-dict order: tensors as <paramref name="floatDType"/>,
    /// batch counters (<c>num_batches_tracked</c> buffers) as 0-rank I64.
    /// </summary>
    /// <param name="module">The module.</param>
    /// <param name="floatDType">F32 (exact, the default), F16 or BF16 (rounded to nearest even), or F64.</param>
    /// <exception cref="ArgumentException"><paramref name="floatDType"/> is not a floating-point dtype.</exception>
    public static IReadOnlyList<SafeTensorEntry> ToSafeTensorEntries(this Module module, SafeTensorDType floatDType = SafeTensorDType.Float32)
    {
        ArgumentNullException.ThrowIfNull(module);
        var counters = module.CounterKeys();
        var entries = new List<SafeTensorEntry>();
        foreach (var (key, tensor) in module.StateDict())
        {
            entries.Add(counters.Contains(key)
                ? SafeTensorEntry.FromInt64(key, [(long)tensor.Data[0]], tensor.Shape)
                : SafeTensorEntry.FromTensor(key, tensor, floatDType));
        }
        return entries;
    }

    /// <summary>
    /// Saves <paramref name="module"/>'s state dict to <paramref name="path"/> as PyTorch-compatible safetensors,
    /// atomically (temporary sibling file, then rename): loadable with <c>safetensors.torch.load_file</c> followed by
    /// <c>model.load_state_dict</c>.
    /// </summary>
    /// <param name="module">The module to save.</param>
    /// <param name="path">Target file; an existing file is replaced only once the new one is complete.</param>
    /// <param name="metadata">The <c>__metadata__</c> strings; null writes <see cref="PyTorchMetadata"/>.</param>
    /// <param name="floatDType">F32 (exact, the default), F16 or BF16 (rounded to nearest even), or F64.</param>
    /// <exception cref="ArgumentException"><paramref name="floatDType"/> is not a floating-point dtype.</exception>
    /// <exception cref="IOException">The file cannot be written; any previous file is left as it was.</exception>
    public static void SaveSafetensors(this Module module, string path, IReadOnlyDictionary<string, string>? metadata = null,
        SafeTensorDType floatDType = SafeTensorDType.Float32)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentException.ThrowIfNullOrEmpty(path);
        SafeTensors.Write(path, module.ToSafeTensorEntries(floatDType), metadata ?? PyTorchMetadata);
    }

    private static bool IsInteger(SafeTensorDType dtype) => dtype is SafeTensorDType.Int64 or SafeTensorDType.Int32 or SafeTensorDType.Int16
        or SafeTensorDType.Int8 or SafeTensorDType.UInt8 or SafeTensorDType.UInt16 or SafeTensorDType.UInt32 or SafeTensorDType.UInt64;
}
