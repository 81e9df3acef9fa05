using System.CommandLine;
using System.Globalization;
using CnnSharp.Data;
using CnnSharp.Functional;
using CnnSharp.Kernels;
using CnnSharp.Models;
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
            Description = "A checkpoint from 'cnnsharp train', a PyTorch state dict (.safetensors, .pt, .pth) of a zoo model, or an .onnx model; " +
                          "with --checkpoint, the zoo model (" + string.Join(", ", ModelZoo.Names) + ") its state dict is for",
        };
        var checkpoint = new Option<string?>("--checkpoint", "-c")
        {
            Description = "The weights, when --model names the zoo model; alone, the model file (as -c in evaluate and export)",
        };
        var architecture = new ArchitectureOptions.Binder(withModel: false);
        var topK = NumericOption.Int("--topk", "Classes to print per image", 5);
        topK.Aliases.Add("-k");
        var noInvert = new Option<bool>("--no-invert")
        {
            Description = "Do not invert dark-on-light images (by default an image with a bright border is inverted, as MNIST digits are light on black)",
        };
        var threads = CommonOptions.Threads();
        var images = new Argument<string[]>("images") { Description = "PNG or JPEG files", Arity = ArgumentArity.OneOrMore };
        var command = new Command("predict", "Classify images with a trained model; prints the top-k classes and their probabilities")
        {
            model, checkpoint, topK, noInvert, threads, images,
        };
        architecture.AddTo(command);
        command.Validators.Add(result =>
        {
            if (result.GetResult(model) is null && result.GetResult(checkpoint) is null)
                result.AddError("missing the model: cnnsharp predict -m model.safetensors image.png (or -m <zoo name> -c weights)");
        });
        command.SetAction(parse =>
        {
            // -m file (as before), -c file (as in evaluate and export), or -m zoo-name -c file.
            string? weights = parse.GetValue(checkpoint);
            var arch = architecture.Get(parse) with { Model = weights is null ? null : parse.GetValue(model) };
            return Run(weights ?? parse.GetValue(model)!, parse.GetValue(images)!, parse.GetValue(topK), parse.GetValue(noInvert),
                parse.GetValue(threads), console, arch);
        });
        return command;
    }

    /// <summary>
    /// Classifies each readable image and prints its top-k classes. An image that cannot be read (missing, not a usable
    /// PNG/JPEG) is reported on its own line, naming the file and the reason, and the others are still classified.
    /// </summary>
    /// <returns>0 when every image was classified; 1 when any image could not be read (after the table of the others),
    /// or when the model cannot be loaded or run.</returns>
    internal static int Run(string modelPath, IReadOnlyList<string> imagePaths, int topK, bool noInvert, int? threads, IAnsiConsole console,
        ArchitectureOptions? architecture = null) =>
        InteropErrors.Guard(console, () =>
        {
            if (threads is int t) ExecutionOptions.Default = ExecutionOptions.Default with { Threads = t };
            if (architecture?.Model is string name && !ModelZoo.Names.Contains(name, StringComparer.OrdinalIgnoreCase))
                throw new ArgumentException($"--model: with --checkpoint it names the zoo model ({string.Join(", ", ModelZoo.Names)}), got '{name}'");
            var source = ModelSource.Load(modelPath, noInvert ? ImageInversion.Never : ImageInversion.Auto, architecture);
            var (paths, batch) = LoadReadable(imagePaths, source.Input, console);
            if (batch is not null) PrintTopK(source, modelPath, paths, batch, topK, console);
            int failed = imagePaths.Count - paths.Count;
            if (failed == 0) return 0;
            console.MarkupLine($"[red]{failed} of {imagePaths.Count} images could not be read[/]");
            return 1;
        });

    /// <summary>Loads each image on its own; a file that fails is reported and left out. Null batch when none loads.</summary>
    private static (List<string> Paths, Tensor? Batch) LoadReadable(IReadOnlyList<string> imagePaths, ImagePreprocessing input, IAnsiConsole console)
    {
        var paths = new List<string>();
        var images = new List<Tensor>();
        foreach (string path in imagePaths)
        {
            try
            {
                images.Add(ImageLoader.Load(path, input));
                paths.Add(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                console.MarkupLine($"[red]error:[/] {Markup.Escape(e.Message)}");
            }
        }
        if (images.Count == 0) return (paths, null);
        int size = input.Channels * input.Height * input.Width;
        var data = new float[images.Count * size];
        for (int i = 0; i < images.Count; i++) images[i].Data.CopyTo(data.AsSpan(i * size, size));
        return (paths, new Tensor(data, new Shape(images.Count, input.Channels, input.Height, input.Width)));
    }

    private static void PrintTopK(ModelSource source, string modelPath, List<string> imagePaths, Tensor batch, int topK, IAnsiConsole console)
    {
        var output = source.Forward(batch);
        if (output.Rank != 2 || output.Shape[0] != imagePaths.Count)
            throw new InvalidDataException($"{modelPath}: expected (N, classes) scores for {imagePaths.Count} images, got {output.Shape}");
        var probabilities = ToProbabilities(output);
        int classes = output.Shape[1], k = Math.Min(topK, classes);

        console.MarkupLine($"[grey]{Markup.Escape(source.Description)}[/]");
        var table = Rendering.Tables.Create(console).AddColumn("image").AddColumn(new TableColumn("rank").RightAligned())
            .AddColumn(new TableColumn("class").RightAligned()).AddColumn(new TableColumn("probability").RightAligned());
        for (int i = 0; i < imagePaths.Count; i++)
        {
            var row = probabilities.Data.Slice(i * classes, classes).ToArray();
            var ranked = Enumerable.Range(0, classes).OrderByDescending(c => row[c]).ThenBy(c => c).Take(k).ToList();
            for (int r = 0; r < ranked.Count; r++)
            {
                table.AddRow(r == 0 ? Markup.Escape(imagePaths[i]) : "", (r + 1).ToString(CultureInfo.InvariantCulture),
                    Markup.Escape(ClassName(source, ranked[r])), (row[ranked[r]] * 100).ToString("F2", CultureInfo.InvariantCulture) + "%");
            }
        }
        console.Write(table);
    }

    /// <summary>The class index, followed by its name when the checkpoint names its classes ("3 Dress").</summary>
    private static string ClassName(ModelSource source, int c)
    {
        string index = c.ToString(CultureInfo.InvariantCulture);
        return source.Classes is { } names && c < names.Count && names[c] != index ? $"{index} {names[c]}" : index;
    }

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
