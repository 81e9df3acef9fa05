using CnnSharp.Data;
using CnnSharp.IO;
using CnnSharp.Models;
using CnnSharp.Modules;

namespace CnnSharp.Cli.Commands;

/// <summary>A model <c>predict</c> can run: its forward pass, the image format it takes, and a one-line description.</summary>
internal sealed record ModelSource(Func<Tensor, Tensor> Forward, ImagePreprocessing Input, string Description)
{
    /// <summary>The architectures a checkpoint or PyTorch state dict may hold, recognised by their exact key sets.</summary>
    private static readonly (string Name, Func<Module> Create)[] s_architectures =
    [
        (nameof(ConvNet), () => new ConvNet()),
        (nameof(LeNet5), () => LeNet5.Create()),
    ];

    /// <summary>Loads a checkpoint or PyTorch state dict into its architecture (see <see cref="LoadModule"/>).</summary>
    public static ModelSource Load(string path, ImageInversion inversion)
    {
        var model = LoadModule(path);
        model.Eval();
        // Both known architectures take MNIST-format images.
        return new ModelSource(model.Forward, ImagePreprocessing.Mnist with { Inversion = inversion }, $"{model.GetType().Name} from {path}");
    }

    /// <summary>
    /// A <see cref="ConvNet"/> or LeNet-5 with the weights of <paramref name="path"/>: a CnnSharp training checkpoint
    /// (<see cref="Checkpoint"/>) or a PyTorch state dict saved with safetensors. The architecture is the one whose
    /// state-dict keys the file holds (optimizer entries aside).
    /// </summary>
    /// <exception cref="InvalidDataException">The keys match no known architecture.</exception>
    public static Module LoadModule(string path)
    {
        var file = SafeTensors.Read(path);
        var keys = file.Names.Where(n => !n.StartsWith(Checkpoint.OptimizerPrefix, StringComparison.Ordinal)).ToHashSet(StringComparer.Ordinal);
        foreach (var (name, create) in s_architectures)
        {
            var model = create();
            if (!model.StateDict().Select(e => e.Key).ToHashSet(StringComparer.Ordinal).SetEquals(keys)) continue;
            if (file.Metadata.ContainsKey(Checkpoint.EpochKey)) Checkpoint.Load(path, model);
            else model.LoadSafetensors(file);
            return model;
        }
        throw new InvalidDataException(
            $"{path}: its {keys.Count} tensors match no known model ({string.Join(", ", s_architectures.Select(a => a.Name))}); first keys: {string.Join(", ", keys.Take(4))}");
    }
}
