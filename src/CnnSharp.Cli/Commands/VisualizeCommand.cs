using System.CommandLine;
using System.Globalization;
using CnnSharp.Autograd;
using CnnSharp.Cli.Rendering;
using CnnSharp.Data;
using CnnSharp.Models;
using CnnSharp.Modules;
using Spectre.Console;

namespace CnnSharp.Cli.Commands;

/// <summary>
/// <c>cnnsharp visualize</c>: the first convolution's filters as a PNG grid, and the feature maps of the first
/// convolution(s) for one image, one PNG grid per layer, observed with a forward hook on every <see cref="Conv2d"/>.
/// </summary>
internal static class VisualizeCommand
{
    /// <summary>The largest <c>--layers</c> and <c>--max-maps</c>.</summary>
    public const int MaxLayers = 64, MaxMaps = 1024;

    public static Command Create(IAnsiConsole console)
    {
        var checkpoint = new Argument<string?>("checkpoint")
        {
            Description = "A checkpoint from 'cnnsharp train' or a PyTorch state dict (.safetensors, .pt, .pth); without it, --model with fresh (seeded) weights",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var architecture = new ArchitectureOptions.Binder();
        var image = new Option<string>("--image", "-i") { Description = "The PNG or JPEG image whose feature maps to draw", Required = true };
        var output = new Option<string>("--output", "-o") { Description = "The folder to write the PNG files to (created if needed)", Required = true };
        var layers = NumericOption.Int("--layers", $"Convolutions whose feature maps to draw, in forward order (1 to {MaxLayers})", 1, max: MaxLayers);
        var maxMaps = NumericOption.Int("--max-maps", $"Feature maps (channels) drawn per layer, the first ones (1 to {MaxMaps})", 64, max: MaxMaps);
        var command = new Command("visualize", "Draw a model's first-layer filters and the feature maps of its first convolution(s) for an image, as PNG")
        {
            checkpoint, image, output, layers, maxMaps,
        };
        architecture.AddTo(command);
        command.SetAction(parse => Run(parse.GetValue(checkpoint), architecture.Get(parse), parse.GetValue(image)!, parse.GetValue(output)!,
            parse.GetValue(layers), parse.GetValue(maxMaps), console));
        return command;
    }

    internal static int Run(string? checkpoint, ArchitectureOptions architecture, string imagePath, string outputDirectory, int layers, int maxMaps,
        IAnsiConsole console) =>
        ErrorReporting.Guard(console, () =>
        {
            var (model, input, normalize, description) = Load(checkpoint, architecture);
            if (File.Exists(outputDirectory)) throw new ArgumentException($"--output {outputDirectory} is a file; expected a folder");
            var image = ImageLoader.Load(imagePath, input);
            var batch = new Tensor(image.ToArray(), new Shape(1, input.Channels, input.Height, input.Width));
            if (normalize is not null) batch = normalize.Apply(batch);

            var capture = new FeatureCapture(model, layers);
            model.Eval();
            using (GradMode.NoGrad())
            using (ForwardObserver.Install(capture))
                model.Call(batch);
            if (capture.Outputs.Count == 0) throw new ArgumentException($"{description} has no Conv2d layer to visualize");

            Directory.CreateDirectory(outputDirectory);
            var table = Tables.Create(console).AddColumn("file").AddColumn("shows");
            var (firstName, first) = model.NamedModules().First(m => m.Value is Conv2d);
            var conv = (Conv2d)first;
            string filters = Path.Combine(outputDirectory, $"filters-{firstName}.png");
            ChartFile.WritePng(filters, Filters(conv));
            table.AddRow(Markup.Escape(filters), Markup.Escape($"{conv.OutChannels} filters of {firstName} ({conv.InChannels}x{conv.KernelSize.H}x{conv.KernelSize.W})"));
            for (int i = 0; i < capture.Outputs.Count; i++)
            {
                var (name, maps) = capture.Outputs[i];
                string path = Path.Combine(outputDirectory, $"features-{(i + 1).ToString(CultureInfo.InvariantCulture)}-{name}.png");
                int shown = Math.Min(maps.Shape[1], maxMaps);
                ChartFile.WritePng(path, FeatureMaps(maps, shown));
                table.AddRow(Markup.Escape(path), Markup.Escape($"{shown} of {maps.Shape[1]} feature maps of {name}, {maps.Shape[2]}x{maps.Shape[3]}"));
            }
            console.MarkupLine($"[grey]{Markup.Escape(description)}, image {Markup.Escape(imagePath)}[/]");
            console.Write(table);
            return 0;
        });

    private static (Module Model, ImagePreprocessing Input, InputNormalization? Normalize, string Description) Load(string? checkpoint, ArchitectureOptions architecture)
    {
        if (checkpoint is not null)
        {
            var loaded = ModelSource.LoadModule(checkpoint, architecture);
            return (loaded.Model, loaded.Input, loaded.Normalization, $"{loaded.Name} from {checkpoint}");
        }
        if (architecture.Model is not string name) throw new ArgumentException("visualize needs a checkpoint or --model");
        var zoo = ModelZoo.Get(name);
        var model = ModelZoo.Create(name, new ZooOptions
        {
            InChannels = architecture.InChannels, NumClasses = architecture.NumClasses, ImageSize = architecture.ImageSize, Generator = new Generator(0),
        });
        int channels = architecture.InChannels ?? zoo.InChannels, size = architecture.ImageSize ?? zoo.ImageSize;
        return (model, new ImagePreprocessing(channels, size, size, channels == 1 ? ImageInversion.Auto : ImageInversion.Never), null, $"{zoo.Name} with fresh weights (seed 0)");
    }

    /// <summary>One tile per output channel: RGB when the filter sees 3 channels, else the mean over its input channels.</summary>
    internal static RasterCanvas Filters(Conv2d conv)
    {
        var w = conv.Weight.Data.ToArray();
        int inPerGroup = conv.Weight.Shape[1], kh = conv.KernelSize.H, kw = conv.KernelSize.W;
        bool rgb = inPerGroup == 3;
        return TileGrid.Draw(conv.OutChannels, rgb ? 3 : 1, kh, kw, Zoom(Math.Max(kh, kw), 40), (t, c, y, x) =>
        {
            if (rgb) return w[((t * 3 + c) * kh + y) * kw + x];
            float sum = 0;
            for (int i = 0; i < inPerGroup; i++) sum += w[((t * inPerGroup + i) * kh + y) * kw + x];
            return sum / inPerGroup;
        });
    }

    /// <summary>One gray tile per channel of the first image of <paramref name="maps"/> (N, C, H, W), the first <paramref name="count"/> channels.</summary>
    internal static RasterCanvas FeatureMaps(Tensor maps, int count)
    {
        var data = maps.ToArray();
        int h = maps.Shape[2], w = maps.Shape[3];
        return TileGrid.Draw(count, 1, h, w, Zoom(Math.Max(h, w), 56), (t, _, y, x) => data[(t * h + y) * w + x]);
    }

    /// <summary>The whole-number zoom that makes a side of <paramref name="side"/> pixels about <paramref name="target"/> (at least 1).</summary>
    internal static int Zoom(int side, int target) => Math.Max(1, (int)Math.Round((double)target / side));
}
