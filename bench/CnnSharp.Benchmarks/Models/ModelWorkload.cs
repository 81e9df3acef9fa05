using CnnSharp.Models;
using CnnSharp.Modules;

namespace CnnSharp.Benchmarks.Models;

/// <summary>
/// One row of <c>bench/compare-models.sh</c>: a model, its batch size and image shape, and the CnnSharp path it runs on
/// unless <c>--compiled</c> overrides it. The PyTorch peer (<c>bench/peers/pytorch_models.py</c>) builds the same
/// networks from <c>bench/peers/torch_models.py</c> under the same names (<see cref="PeerName"/>).
/// </summary>
internal sealed record ModelWorkload(string Name, string PeerName, int Batch, int[] ImageShape, ExecutionPath DefaultPath, Func<Generator, Module> Create)
{
    public static IReadOnlyList<ModelWorkload> All { get; } =
    [
        new("convnet", "convnet", 100, [1, 28, 28], ExecutionPath.Eager, g => new ConvNet(10, g)),
        new("lenet5", "lenet5", 100, [1, 28, 28], ExecutionPath.Eager, g => LeNet5.Create(10, g)),
        new("vgg_small", "vgg_small", 64, [3, 32, 32], ExecutionPath.Eager, g => new VggSmall(10, g)),
        new("resnet8", "resnet8", 64, [3, 32, 32], ExecutionPath.Eager, g => new ResNet8(10, g)),
    ];

    /// <summary>The workload called <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">No workload has that name.</exception>
    public static ModelWorkload Find(string name) =>
        All.FirstOrDefault(w => w.Name == name)
        ?? throw new ArgumentException($"unknown model '{name}' (known: {string.Join(", ", All.Select(w => w.Name))})");

    /// <summary>The input shape at the workload's batch size, (Batch, C, H, W).</summary>
    public int[] InputShape => [Batch, .. ImageShape];
}
