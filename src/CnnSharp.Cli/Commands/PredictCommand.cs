using System.CommandLine;
using System.Globalization;
using CnnSharp.Data;
using CnnSharp.Functional;
using CnnSharp.Kernels;
using Spectre.Console;

namespace CnnSharp.Cli.Commands;

/// <summary>
/// <c>cnnsharp predict</c>: classifies PNG/JPEG images with a checkpoint, a PyTorch state dict or an <c>.onnx</c> model
/// and prints the top-k classes with their softmax probabilities.
/// </summary>
internal static class PredictCommand
{
    public static Command Create(IAnsiConsole console)
    {
        var model = new Option<string>("--model", "-m")
        {
            Description = "A checkpoint from 'cnnsharp train', a PyTorch state dict (.safetensors) of ConvNet, LeNet-5, VggSmall or ResNet8, or an .onnx model",
            Required = true,
        };
        var topK = CommonOptions.Positive(new Option<int>("--topk", "-k") { Description = "Classes to print per image", DefaultValueFactory = _ => 5 });
        var noInvert = new Option<bool>("--no-invert")
        {
            Description = "Do not invert dark-on-light images (by default an image with a bright border is inverted, as MNIST digits are light on black)",
        };
        var threads = CommonOptions.Threads();
        var images = new Argument<string[]>("images") { Description = "PNG or JPEG files", Arity = ArgumentArity.OneOrMore };
        var command = new Command("predict", "Classify images with a trained model; prints the top-k classes and their probabilities")
        {
            model, topK, noInvert, threads, images,
        };
        command.SetAction(parse => Run(parse.GetValue(model)!, parse.GetValue(images)!, parse.GetValue(topK), parse.GetValue(noInvert),
            parse.GetValue(threads), console));
        return command;
    }

    internal static int Run(string modelPath, IReadOnlyList<string> imagePaths, int topK, bool noInvert, int? threads, IAnsiConsole console) =>
        InteropErrors.Guard(console, () =>
        {
            if (threads is int t) Parallelism.MaxThreads = t;
            var source = ModelSource.Load(modelPath, noInvert ? ImageInversion.Never : ImageInversion.Auto);
            var batch = ImageLoader.LoadBatch(imagePaths, source.Input);
            var output = source.Forward(batch);
            if (output.Rank != 2 || output.Shape[0] != imagePaths.Count)
                throw new InvalidDataException($"{modelPath}: expected (N, classes) scores for {imagePaths.Count} images, got {output.Shape}");
            var probabilities = ToProbabilities(output);
            int classes = output.Shape[1], k = Math.Min(topK, classes);

            console.MarkupLine($"[grey]{Markup.Escape(source.Description)}[/]");
            var table = new Table().AddColumn("image").AddColumn(new TableColumn("rank").RightAligned())
                .AddColumn(new TableColumn("class").RightAligned()).AddColumn(new TableColumn("probability").RightAligned());
            for (int i = 0; i < imagePaths.Count; i++)
            {
                var row = probabilities.Data.Slice(i * classes, classes).ToArray();
                var ranked = Enumerable.Range(0, classes).OrderByDescending(c => row[c]).ThenBy(c => c).Take(k).ToList();
                for (int r = 0; r < ranked.Count; r++)
                {
                    table.AddRow(r == 0 ? Markup.Escape(imagePaths[i]) : "", (r + 1).ToString(CultureInfo.InvariantCulture),
                        ranked[r].ToString(CultureInfo.InvariantCulture), (row[ranked[r]] * 100).ToString("F2", CultureInfo.InvariantCulture) + "%");
                }
            }
            console.Write(table);
            return 0;
        });

    /// <summary>
    /// Softmax over the classes, unless each row already is a probability distribution (non-negative, summing to 1, as
    /// from a model ending in Softmax). Log-probabilities (a LogSoftmax head) come out right either way.
    /// </summary>
    internal static Tensor ToProbabilities(Tensor scores)
    {
        int n = scores.Shape[0], classes = scores.Shape[1];
        bool alreadyProbabilities = true;
        for (int i = 0; i < n && alreadyProbabilities; i++)
        {
            var row = scores.Data.Slice(i * classes, classes);
            double sum = 0;
            foreach (float v in row)
            {
                if (!(v >= 0f)) alreadyProbabilities = false;
                sum += v;
            }
            if (Math.Abs(sum - 1) > 1e-4) alreadyProbabilities = false;
        }
        return alreadyProbabilities ? scores : F.Softmax(scores, 1);
    }
}
