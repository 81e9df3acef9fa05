using System.Globalization;
using CnnSharp.Modules;
using CnnSharp.Optimizers;

namespace CnnSharp.IO;

/// <summary>
/// Saves and restores a training checkpoint as one safetensors file: the model's state dict under PyTorch's keys, the
/// optimizer's state under <c>optimizer.</c>-prefixed keys, and the epoch in the header's <c>__metadata__</c>.
/// </summary>
/// <remarks>
/// <para>Layout: model entries first, in state-dict order, as F32 (BatchNorm's <c>num_batches_tracked</c> as a 0-rank
/// I64, as PyTorch stores it), so the file loads in PyTorch with <c>safetensors.torch.load_file</c> and
/// <c>model.load_state_dict(..., strict=False)</c>. Then <c>optimizer.state.{i}.{name}</c> entries (e.g.
/// <c>optimizer.state.0.exp_avg</c>, <c>optimizer.state.0.step</c>), F32. Metadata: <c>format</c> = <c>pt</c>,
/// <c>cnnsharp.checkpoint</c> = <c>1</c>, <c>epoch</c>, <c>model</c> (the model's type name unless the caller's metadata
/// names it, e.g. by its model-zoo name) and the <c>optimizer</c> type name, plus any caller-supplied strings.</para>
/// <para>Writes are atomic (temporary sibling file, flushed, then renamed over the target): a failed save leaves the
/// previous checkpoint untouched and no partial file behind.</para>
/// </remarks>
public static class Checkpoint
{
    /// <summary>Key prefix of the optimizer's entries.</summary>
    public const string OptimizerPrefix = "optimizer.";

    /// <summary>Metadata key of the epoch number.</summary>
    public const string EpochKey = "epoch";

    /// <summary>Metadata key of the optimizer's type name (<c>Adam</c>, <c>Sgd</c>), present when optimizer state was saved.</summary>
    public const string OptimizerKey = "optimizer";

    private const string FormatKey = "cnnsharp.checkpoint";
    private const string FormatVersion = "1";

    /// <summary>Writes <paramref name="model"/>'s state, <paramref name="optimizer"/>'s state and <paramref name="epoch"/> to <paramref name="path"/> atomically.</summary>
    /// <param name="path">Target file; an existing file is replaced only once the new one is complete.</param>
    /// <param name="model">The model whose parameters and buffers are saved.</param>
    /// <param name="optimizer">The optimizer whose state is saved, or null.</param>
    /// <param name="epoch">The number of epochs completed.</param>
    /// <param name="metadata">Extra strings for <c>__metadata__</c> (they may not replace the reserved keys other than <c>model</c>).</param>
    /// <exception cref="ArgumentException">A model key starts with <c>optimizer.</c>, or extra metadata uses a reserved key; the previous file is untouched.</exception>
    /// <exception cref="IOException">The file cannot be written; the previous file is untouched.</exception>
    public static void Save(string path, Module model, Optimizer? optimizer, int epoch, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        var header = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["format"] = "pt",
            [FormatKey] = FormatVersion,
            [EpochKey] = epoch.ToString(CultureInfo.InvariantCulture),
            ["model"] = model.GetType().Name,
        };
        if (optimizer is not null) header[OptimizerKey] = optimizer.GetType().Name;
        foreach (var (key, value) in metadata ?? new Dictionary<string, string>())
        {
            // "model" may name the architecture more usefully than the type (a model-zoo name such as resnet20).
            if (key == "model") header[key] = value;
            else if (!header.TryAdd(key, value))
                throw new ArgumentException($"Checkpoint: metadata key '{key}' is reserved", nameof(metadata));
        }
        // The entries are built inside the atomic write, so any failure while building or writing them leaves the
        // previous file as it was.
        AtomicFile.Write(path, stream =>
        {
            var bytes = SafeTensors.Serialize(Entries(model, optimizer), header);
            stream.Write(bytes);
        });
    }

    private static IEnumerable<SafeTensorEntry> Entries(Module model, Optimizer? optimizer)
    {
        foreach (var (key, tensor) in model.StateDict())
        {
            if (key.StartsWith(OptimizerPrefix, StringComparison.Ordinal))
                throw new ArgumentException($"Checkpoint: model key '{key}' collides with the optimizer prefix '{OptimizerPrefix}'", nameof(model));
            yield return IsCounter(key, tensor)
                ? SafeTensorEntry.Int64Scalar(key, (long)tensor.Data[0])
                : SafeTensorEntry.FromTensor(key, tensor);
        }
        if (optimizer is null) yield break;
        foreach (var (key, tensor) in optimizer.StateDict())
            yield return SafeTensorEntry.FromTensor(OptimizerPrefix + key, tensor);
    }

    /// <summary>A metadata value for a message: at most 40 characters, control characters shown as '?'.</summary>
    private static string Printable(string text)
    {
        string shown = text.Length <= 40 ? text : text[..40] + "...";
        return string.Create(shown.Length, shown, (span, s) =>
        {
            for (int i = 0; i < s.Length; i++) span[i] = char.IsControl(s[i]) ? '?' : s[i];
        });
    }

    // PyTorch keeps BatchNorm's batch counter as an int64 scalar; CnnSharp holds it in a one-element float buffer.
    private static bool IsCounter(string key, Tensor tensor) =>
        tensor.Numel == 1 && (key == "num_batches_tracked" || key.EndsWith(".num_batches_tracked", StringComparison.Ordinal));

    /// <summary>
    /// Restores <paramref name="model"/> (and <paramref name="optimizer"/>, when given) from a checkpoint written by
    /// <see cref="Save"/>; model keys must match exactly (strict). On any error neither is changed.
    /// </summary>
    /// <param name="path">The checkpoint file.</param>
    /// <param name="model">Receives the parameters and buffers.</param>
    /// <param name="optimizer">Receives the optimizer state; null ignores it.</param>
    /// <returns>The epoch and the metadata stored with the checkpoint.</returns>
    /// <exception cref="SafeTensorsFormatException">The file is not valid safetensors.</exception>
    /// <exception cref="InvalidDataException">The file lacks the checkpoint metadata (epoch), its epoch is not a whole number, or it holds an entry of an unusable dtype.</exception>
    /// <exception cref="StateDictException">The keys or shapes do not fit the model or optimizer.</exception>
    /// <exception cref="OptimizerMismatchException">The checkpoint holds another optimizer type's state than <paramref name="optimizer"/>'s.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static CheckpointInfo Load(string path, Module model, Optimizer? optimizer = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(model);
        var file = SafeTensors.Read(path);
        if (!file.Metadata.TryGetValue(EpochKey, out var epochText))
            throw new InvalidDataException($"{path}: not a CnnSharp checkpoint (no '{EpochKey}' in __metadata__)");
        if (!int.TryParse(epochText, NumberStyles.None, CultureInfo.InvariantCulture, out int epoch))
            throw new InvalidDataException($"{path}: __metadata__ '{EpochKey}' is \"{Printable(epochText)}\", expected the number of epochs completed (a whole number >= 0)");
        // Checked before any state moves: another optimizer's entries would otherwise be reported key by key.
        if (optimizer is not null && file.Metadata.TryGetValue(OptimizerKey, out var saved) && saved != optimizer.GetType().Name)
            throw new OptimizerMismatchException(path, saved, optimizer.GetType().Name);

        var modelState = new StateDict();
        var optimizerState = new StateDict();
        foreach (var entry in file.Entries)
        {
            Tensor value;
            if (entry.IsFloatingPoint) value = entry.ToTensor();
            else if (entry.DType == SafeTensorDType.Int64 && entry.ElementCount == 1) value = new Tensor([entry.ToInt64Scalar()], entry.Shape);
            else throw new InvalidDataException($"{path}: entry '{entry.Name}' has dtype {entry.DType} and shape {entry.Shape}, which a checkpoint cannot hold");

            if (entry.Name.StartsWith(OptimizerPrefix, StringComparison.Ordinal)) optimizerState.Add(entry.Name[OptimizerPrefix.Length..], value);
            else modelState.Add(entry.Name, value);
        }
        // PyTorch stores num_batches_tracked with shape (); accept it for a model buffer of any one-element shape.
        foreach (var (key, own) in model.StateDict())
        {
            if (modelState.TryGetValue(key, out var t) && IsCounter(key, own) && t.Numel == 1 && t.Shape != own.Shape)
                modelState[key] = new Tensor(t.ToArray(), own.Shape);
        }
        if (optimizer is null)
        {
            model.LoadStateDict(modelState);
        }
        else
        {
            // Each LoadStateDict changes nothing when it throws; the optimizer's previous state is restored if the model
            // then refuses its part, so a failed load never half-applies.
            var previous = optimizer.StateDict(); // copies, not the live buffers
            optimizer.LoadStateDict(optimizerState);
            try
            {
                model.LoadStateDict(modelState);
            }
            catch
            {
                optimizer.LoadStateDict(previous);
                throw;
            }
        }
        return new CheckpointInfo(epoch, file.Metadata);
    }
}

/// <summary>What <see cref="Checkpoint.Load"/> found besides the tensors.</summary>
/// <param name="Epoch">The number of epochs completed when the checkpoint was written.</param>
/// <param name="Metadata">All <c>__metadata__</c> strings.</param>
public sealed record CheckpointInfo(int Epoch, IReadOnlyDictionary<string, string> Metadata);
