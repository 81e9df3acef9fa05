using System.Globalization;
using CnnSharp.Data;
using Spectre.Console;

namespace CnnSharp.Cli.Commands;

/// <summary>
/// The labelled test images <c>cnnsharp evaluate --dataset</c> names: <c>mnist</c>, <c>fashion-mnist</c> (their 10,000
/// test images) or an image folder (one sub-folder per class; in a folder with <c>test/</c> or <c>train/</c> inside,
/// that one's images), with the class names in label order.
/// </summary>
internal sealed record EvaluationData(string Name, IDataset Test, IReadOnlyList<string> Classes)
{
    /// <summary>Loads <paramref name="dataset"/> in the format of <paramref name="input"/>.</summary>
    /// <param name="dataset"><c>mnist</c>, <c>fashion-mnist</c> or a folder path.</param>
    /// <param name="dataDirectory">Where the MNIST-style files are (fetched there when absent); null for the default.</param>
    /// <param name="input">The images the model takes; an image folder is decoded to it, the MNIST-style sets must match it.</param>
    /// <param name="console">Shows a download.</param>
    /// <exception cref="ArgumentException">The model does not take the data set's images (channels, size).</exception>
    public static EvaluationData Load(string dataset, string? dataDirectory, ImagePreprocessing input, IAnsiConsole console)
    {
        bool fashion = dataset.Equals(ModelSource.FashionMnistName, StringComparison.OrdinalIgnoreCase);
        if (fashion || dataset.Equals(ModelSource.MnistName, StringComparison.OrdinalIgnoreCase))
        {
            string name = fashion ? "Fashion-MNIST" : "MNIST";
            if (input.Channels != 1 || input.Height != Mnist.ImageSize || input.Width != Mnist.ImageSize)
                throw new ArgumentException(
                    $"the model takes {Format(input)} images; {name}'s are 1x28x28 (for another data set pass --dataset, for a state dict --in-channels/--image-size)");
            var test = Rendering.FetchView.Load(console, dataDirectory, fashion).Test;
            IReadOnlyList<string> classes = fashion
                ? FashionMnist.ClassNames
                : [.. Enumerable.Range(0, Mnist.NumClasses).Select(c => c.ToString(CultureInfo.InvariantCulture))];
            return new EvaluationData(fashion ? ModelSource.FashionMnistName : ModelSource.MnistName, test, classes);
        }
        if (!Directory.Exists(dataset))
            throw new ArgumentException($"--dataset: '{dataset}' is neither mnist, fashion-mnist nor a folder of class folders");
        if (input.Channels is not (1 or 3))
            throw new ArgumentException($"the model takes {Format(input)} images; an image folder gives 1 or 3 channels");
        // A folder laid out as 'cnnsharp train' takes it (train/ and test/ inside): its test images, else its training images.
        string testRoot = Path.Combine(dataset, "test"), trainRoot = Path.Combine(dataset, "train");
        string root = Directory.Exists(testRoot) ? testRoot : Directory.Exists(trainRoot) ? trainRoot : dataset;
        var folder = new ImageFolder(root, input.Channels, input.Height, input.Width);
        return new EvaluationData(folder.Root, folder, folder.Classes);
    }

    private static string Format(ImagePreprocessing p) =>
        string.Create(CultureInfo.InvariantCulture, $"{p.Channels}x{p.Height}x{p.Width}");
}
