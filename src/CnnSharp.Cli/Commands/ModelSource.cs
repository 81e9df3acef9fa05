using CnnSharp.Autograd;
using CnnSharp.Data;
using CnnSharp.IO;
using CnnSharp.Models;
using CnnSharp.Modules;
using CnnSharp.Onnx;

namespace CnnSharp.Cli.Commands;

/// <summary>A model <c>predict</c> can run: its forward pass, the image format it takes, and a one-line description.</summary>
internal sealed record ModelSource(Func<Tensor, Tensor> Forward, ImagePreprocessing Input, string Description)
{
    // Declared before s_architectures: static initialisers run in textual order.
    private static readonly ImagePreprocessing s_colour32 = new(3, 32, 32, ImageInversion.Never);

    /// <summary>
    /// The architectures a checkpoint or PyTorch state dict may hold, recognised by their exact key sets, with the images
    /// they take: MNIST format for the digit models; 3x32x32 colour (CIFAR-10 sized), never inverted, for the others.
    /// </summary>
    private static readonly (string Name, Func<Module> Create, ImagePreprocessing Input)[] s_architectures =
    [
        (nameof(ConvNet), () => new ConvNet(), ImagePreprocessing.Mnist),
        (nameof(LeNet5), () => LeNet5.Create(), ImagePreprocessing.Mnist),
        (nameof(VggSmall), () => new VggSmall(), s_colour32),
        (nameof(ResNet8), () => new ResNet8(), s_colour32),
    ];

    /// <summary>Loads an <c>.onnx</c> file with <see cref="OnnxSession"/>, or a checkpoint / state dict into its architecture.</summary>
    public static ModelSource Load(string path, ImageInversion inversion)
    {
        if (path.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase)) return LoadOnnx(path, inversion);
        var (model, input) = LoadModule(path);
        model.Eval();
        // --no-invert only matters for the digit models: colour images are never inverted.
        if (input.Channels == 1) input = input with { Inversion = inversion };
        var compiled = model.Compile();
        return new ModelSource(x =>
        {
            using (GradMode.NoGrad()) return compiled.Forward(x);
        }, input, $"{model.GetType().Name} from {path}");
    }

    /// <summary>
    /// A known model (<see cref="ConvNet"/>, LeNet-5, <see cref="VggSmall"/>, <see cref="ResNet8"/>) with the weights of
    /// <paramref name="path"/>: a CnnSharp training checkpoint (<see cref="Checkpoint"/>) or a PyTorch state dict saved
    /// with safetensors; the architecture is the one whose state-dict keys the file holds (optimizer entries aside).
    /// Also returns the images that architecture takes.
    /// </summary>
    /// <exception cref="InvalidDataException">The keys match no known architecture.</exception>
    public static (Module Model, ImagePreprocessing Input) LoadModule(string path)
    {
        var file = SafeTensors.Read(path);
        var keys = file.Names.Where(n => !n.StartsWith(Checkpoint.OptimizerPrefix, StringComparison.Ordinal)).ToHashSet(StringComparer.Ordinal);
        foreach (var (_, create, input) in s_architectures)
        {
            var model = create();
            if (!model.StateDict().Select(e => e.Key).ToHashSet(StringComparer.Ordinal).SetEquals(keys)) continue;
            if (file.Metadata.ContainsKey(Checkpoint.EpochKey)) Checkpoint.Load(path, model);
            else model.LoadSafetensors(file);
            return (model, input);
        }
        throw new InvalidDataException(
            $"{path}: its {keys.Count} tensors match no known model ({string.Join(", ", s_architectures.Select(a => a.Name))}); first keys: {string.Join(", ", keys.Take(4))}");
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
        if (dims[0].IsFixed && dims[0].Value != 1)
            return new ModelSource(x => RunOneByOne(session, x), new ImagePreprocessing((int)channels, (int)height, (int)width, inversion), $"ONNX model {path}");
        return new ModelSource(session.Run, new ImagePreprocessing((int)channels, (int)height, (int)width, inversion), $"ONNX model {path}");
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
