using System.Globalization;
using CnnSharp.Autograd;
using CnnSharp.Data;
using CnnSharp.IO;
using CnnSharp.Models;
using CnnSharp.Modules;
using CnnSharp.Onnx;

namespace CnnSharp.Cli.Commands;

/// <summary>
/// A model the report commands can run: its forward pass, the image format it takes, a one-line description, and
/// what its file says about its classes and training data (null where it says nothing).
/// </summary>
internal sealed record ModelSource(Func<Tensor, Tensor> Forward, ImagePreprocessing Input, string Description)
{
    /// <summary>Metadata keys a checkpoint written by <c>cnnsharp train</c> carries about its model and data.</summary>
    public const string ModelKey = "model", InChannelsKey = "in_channels", NumClassesKey = "num_classes", ImageSizeKey = "image_size",
        DatasetKey = "dataset", ClassesKey = "classes";

    /// <summary>The <c>dataset</c> metadata values of the built-in data sets; any other value is an image folder.</summary>
    public const string MnistName = "mnist", FashionMnistName = "fashion-mnist";

    /// <summary>The zoo name of the architecture (<c>resnet20</c>); null for an ONNX model.</summary>
    public string? Architecture { get; init; }

    /// <summary>Number of classes the model outputs, when known before running it.</summary>
    public int? NumClasses { get; init; }

    /// <summary>Class names from the checkpoint's <c>classes</c> metadata, in label order; null when it has none.</summary>
    public IReadOnlyList<string>? Classes { get; init; }

    /// <summary>The checkpoint's <c>dataset</c> metadata (<c>mnist</c>, <c>fashion-mnist</c> or an image folder); null when it has none.</summary>
    public string? Dataset { get; init; }

    /// <summary>The checkpoint's epoch; null for a state dict or an ONNX model.</summary>
    public int? Epoch { get; init; }

    /// <summary>Loads an <c>.onnx</c> file with <see cref="OnnxSession"/>, or a checkpoint / state dict into its architecture (<see cref="LoadModule(string, ArchitectureOptions)"/>).</summary>
    /// <param name="inversion">For grayscale models of MNIST-style data: whether to invert dark-on-light images.</param>
    public static ModelSource Load(string path, ImageInversion inversion, ArchitectureOptions? architecture = null)
    {
        if (path.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase))
        {
            if (architecture is { Model: not null } or { InChannels: not null } or { NumClasses: not null } or { ImageSize: not null })
                throw new ArgumentException($"{path}: an ONNX model carries its own architecture; --model, --in-channels, --num-classes and --image-size apply to state dicts");
            return LoadOnnx(path, inversion);
        }
        var loaded = LoadModule(path, architecture ?? ArchitectureOptions.None);
        var model = loaded.Model;
        model.Eval();
        var input = loaded.Input;
        // --no-invert only matters for the digit-style models: colour and image-folder images are never inverted.
        if (input.Inversion != ImageInversion.Never) input = input with { Inversion = inversion };
        var compiled = model.Compile();
        var normalize = loaded.Normalization;
        return new ModelSource(x =>
        {
            using (GradMode.NoGrad()) return compiled.Forward(normalize is null ? x : normalize.Apply(x));
        }, input, $"{loaded.Name} from {path}")
        {
            Architecture = loaded.Name,
            NumClasses = loaded.NumClasses,
            Classes = loaded.Classes,
            Dataset = loaded.Dataset,
            Epoch = loaded.Epoch,
        };
    }

    /// <summary>As <see cref="LoadModule(string, ArchitectureOptions)"/> with nothing named on the command line.</summary>
    public static (Module Model, ImagePreprocessing Input) LoadModule(string path)
    {
        var loaded = LoadModule(path, ArchitectureOptions.None);
        return (loaded.Model, loaded.Input);
    }

    /// <summary>
    /// A zoo model (<see cref="ModelZoo"/>) with the weights of <paramref name="path"/>: a CnnSharp training checkpoint
    /// (<see cref="Checkpoint"/>), or a PyTorch state dict saved with safetensors or <c>torch.save</c> (<c>.pt</c>/<c>.pth</c>).
    /// </summary>
    /// <remarks>
    /// The architecture is, in order: <paramref name="architecture"/>'s <c>--model</c>; the checkpoint's <c>model</c>
    /// metadata when it is a zoo name; else the zoo model whose state-dict keys the file holds (optimizer entries aside).
    /// Its input channels, classes and image size are, in order: the command line's; the checkpoint's metadata
    /// (<c>in_channels</c>, <c>num_classes</c>, <c>image_size</c>); for channels and classes, the shapes of the first
    /// convolution weight and the last matrix in the file; the zoo model's defaults.
    /// </remarks>
    /// <exception cref="InvalidDataException">The keys match no zoo model, or a metadata value is malformed.</exception>
    /// <exception cref="ArgumentException">The settings do not fit the model (<see cref="ModelZoo.Create"/>).</exception>
    /// <exception cref="StateDictException">The weights do not fit the model built (names, shapes).</exception>
    public static LoadedModel LoadModule(string path, ArchitectureOptions architecture)
    {
        bool torch = path.EndsWith(".pt", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".pth", StringComparison.OrdinalIgnoreCase);
        var file = torch ? TorchFile.Read(path) : SafeTensors.Read(path);
        var metadata = file.Metadata;
        var weights = file.Entries.Where(e => !e.Name.StartsWith(Checkpoint.OptimizerPrefix, StringComparison.Ordinal)).ToList();
        var options = new ZooOptions
        {
            InChannels = architecture.InChannels ?? MetadataInt(path, metadata, InChannelsKey) ?? weights.FirstOrDefault(e => e.Shape.Rank == 4)?.Shape[1],
            NumClasses = architecture.NumClasses ?? MetadataInt(path, metadata, NumClassesKey) ?? weights.LastOrDefault(e => e.Shape.Rank == 2)?.Shape[0],
            ImageSize = architecture.ImageSize ?? MetadataInt(path, metadata, ImageSizeKey),
            Generator = new Generator(0),
        };
        string? name = architecture.Model
            ?? (metadata.TryGetValue(ModelKey, out var saved) && ModelZoo.Names.Contains(saved, StringComparer.OrdinalIgnoreCase) ? saved : null);
        Module model = name is not null ? ModelZoo.Create(name, options) : MatchKeys(path, weights.Select(e => e.Name), options, out name);
        if (metadata.ContainsKey(Checkpoint.EpochKey)) Checkpoint.Load(path, model);
        else model.LoadSafetensors(file);

        var zoo = ModelZoo.Get(name);
        int channels = options.InChannels ?? zoo.InChannels, size = options.ImageSize ?? zoo.ImageSize, classes = options.NumClasses ?? zoo.NumClasses;
        metadata.TryGetValue(DatasetKey, out var dataset);
        // Digit-style data (MNIST, Fashion-MNIST: light on dark, square) may need inverting and keeps the aspect ratio;
        // an image-folder model sees its images as ImageFolder gives them: never inverted, stretched to the size.
        bool folder = dataset is not null && dataset is not (MnistName or FashionMnistName);
        var input = new ImagePreprocessing(channels, size, size, channels == 1 && !folder ? ImageInversion.Auto : ImageInversion.Never, KeepAspectRatio: !folder);
        return new LoadedModel(model, input, zoo.Name, classes, ClassNames(path, metadata, classes), dataset,
            InputNormalization.FromMetadata(path, metadata, channels),
            // Checkpoint.Load above has checked the epoch's format.
            metadata.TryGetValue(Checkpoint.EpochKey, out var epoch) ? int.Parse(epoch, CultureInfo.InvariantCulture) : null);
    }

    /// <summary>The zoo model whose state-dict keys are exactly <paramref name="keys"/>, built with <paramref name="options"/> where it accepts them.</summary>
    private static Module MatchKeys(string path, IEnumerable<string> keys, ZooOptions options, out string name)
    {
        var wanted = keys.ToHashSet(StringComparer.Ordinal);
        foreach (var zoo in ModelZoo.Models)
        {
            // Fixed-input models take their own channel count only; the weights decide whether they fit.
            var model = ModelZoo.Create(zoo.Name, zoo.FixedInput ? options with { InChannels = null, ImageSize = null } : options with { ImageSize = null });
            if (!model.StateDict().Select(e => e.Key).ToHashSet(StringComparer.Ordinal).SetEquals(wanted)) continue;
            name = zoo.Name;
            return model;
        }
        throw new InvalidDataException(
            $"{path}: its {wanted.Count} tensors match no known model ({string.Join(", ", ModelZoo.Names)}); first keys: {string.Join(", ", wanted.Take(4))}; " +
            "name the architecture with --model");
    }

    private static int? MetadataInt(string path, IReadOnlyDictionary<string, string> metadata, string key)
    {
        if (!metadata.TryGetValue(key, out var text)) return null;
        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int value) && value > 0
            ? value
            : throw new InvalidDataException($"{path}: __metadata__ '{key}' is \"{text}\", expected a positive whole number");
    }

    /// <summary>The <c>classes</c> metadata split at commas, checked against the model's class count.</summary>
    private static string[]? ClassNames(string path, IReadOnlyDictionary<string, string> metadata, int classes)
    {
        if (!metadata.TryGetValue(ClassesKey, out var text)) return null;
        string[] names = text.Split(',');
        return names.Length == classes ? names
            : throw new InvalidDataException($"{path}: __metadata__ '{ClassesKey}' names {names.Length} classes, the model has {classes}");
    }

    private static ModelSource LoadOnnx(string path, ImageInversion inversion)
    {
        var session = OnnxSession.Load(path);
        if (session.InputNames.Count != 1)
            throw new InvalidDataException($"{path}: predict needs a model with one input, this one has {session.InputNames.Count} ({string.Join(", ", session.InputNames)})");
        var input = session.Model.Graph.RuntimeInputs[0];
        var dims = input.Shape;
        if (dims is not { Count: 4 } || !dims[1].IsFixed || !dims[2].IsFixed || !dims[3].IsFixed)
            throw new InvalidDataException($"{path}: input '{input.Name}' must be (N, C, H, W) with fixed C, H and W to take images, got ({string.Join(", ", dims ?? [])})");
        long channels = dims[1].Value!.Value, height = dims[2].Value!.Value, width = dims[3].Value!.Value;
        if (channels is not (1 or 3) || height is < 1 or > 4096 || width is < 1 or > 4096)
            throw new InvalidDataException($"{path}: input '{input.Name}' is ({string.Join(", ", dims)}); images need 1 or 3 channels and a size up to 4096x4096");
        var output = session.Model.Graph.Outputs.Count == 1 ? session.Model.Graph.Outputs[0].Shape : null;
        int? classes = output is { Count: 2 } && output[1].IsFixed ? (int)output[1].Value!.Value : null;
        var preprocessing = new ImagePreprocessing((int)channels, (int)height, (int)width, inversion);
        Func<Tensor, Tensor> forward = dims[0].IsFixed && dims[0].Value != 1 ? x => RunOneByOne(session, x) : session.Run;
        return new ModelSource(forward, preprocessing, $"ONNX model {path}") { NumClasses = classes };
    }

    /// <summary>A model exported with a fixed batch size of 1 takes the images one at a time.</summary>
    private static Tensor RunOneByOne(OnnxSession session, Tensor batch)
    {
        int n = batch.Shape[0], size = batch.Numel / n;
        var outputs = new List<Tensor>(n);
        for (int i = 0; i < n; i++)
            outputs.Add(session.Run(Tensor.FromArray(batch.Data.Slice(i * size, size), [1, .. batch.Shape.Dims[1..].ToArray()])));
        int k = outputs[0].Numel;
        var data = new float[n * k];
        for (int i = 0; i < n; i++) outputs[i].Data.CopyTo(data.AsSpan(i * k, k));
        return Tensor.FromArray(data, n, k);
    }
}

/// <summary>A zoo model loaded from a weights file, with what the file says about it.</summary>
/// <param name="Model">The model, weights loaded, in training mode.</param>
/// <param name="Input">The images it takes.</param>
/// <param name="Name">Its zoo name (<c>resnet20</c>).</param>
/// <param name="NumClasses">Its number of output classes.</param>
/// <param name="Classes">Class names from the <c>classes</c> metadata, or null.</param>
/// <param name="Dataset">The <c>dataset</c> metadata, or null.</param>
/// <param name="Normalization">The input normalisation it was trained with (applied to [0, 1] pixels), or null.</param>
/// <param name="Epoch">The checkpoint's epoch, or null for a state dict.</param>
internal sealed record LoadedModel(Module Model, ImagePreprocessing Input, string Name, int NumClasses, IReadOnlyList<string>? Classes, string? Dataset,
    InputNormalization? Normalization, int? Epoch);
