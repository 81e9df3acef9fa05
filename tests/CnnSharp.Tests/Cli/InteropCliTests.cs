using CnnSharp.Cli;
using CnnSharp.Cli.Commands;
using CnnSharp.Data;
using CnnSharp.Functional;
using CnnSharp.IO;
using CnnSharp.Models;
using CnnSharp.Onnx;
using CnnSharp.Tests.Onnx;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Cli;

/// <summary><c>cnnsharp predict</c> and <c>cnnsharp export</c> end to end, on synthetic PNG digits.</summary>
public sealed class InteropCliTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static (int ExitCode, string Output) Invoke(params string[] args) => CliRunner.Invoke(250, args);

    /// <summary>A ConvNet with random weights and statistics, saved as a training checkpoint.</summary>
    private (ConvNet Model, string Path) Checkpointed()
    {
        var model = new ConvNet(generator: new Generator(31));
        OnnxExporterTests.RandomizeBatchNorm(model, seed: 3);
        string path = _dir.File("convnet.safetensors");
        Checkpoint.Save(path, model, optimizer: null, epoch: 2);
        return (model, path);
    }

    /// <summary>Two digit-like PNGs: a light bar on black and a dark ring on white paper (inverted by predict).</summary>
    private string[] Images()
    {
        string bar = _dir.File("bar.png"), ring = _dir.File("ring.png");
        File.WriteAllBytes(bar, PngWriter.Gray(28, 28, (x, y) => (byte)(x is >= 12 and <= 15 && y is >= 4 and <= 23 ? 255 : 0)));
        File.WriteAllBytes(ring, PngWriter.Gray(40, 40, (x, y) =>
        {
            double r = Math.Sqrt((x - 19.5) * (x - 19.5) + (y - 19.5) * (y - 19.5));
            return (byte)(r is > 9 and < 14 ? 10 : 245);
        }));
        return [bar, ring];
    }

    /// <summary>The expected top-k rows "class, probability" per image, from the library directly.</summary>
    private static List<(int Class, float Probability)[]> Expected(ConvNet model, string[] images, int k)
    {
        model.Eval();
        var probabilities = F.Softmax(model.Forward(ImageLoader.LoadBatch(images)), 1);
        return [.. Enumerable.Range(0, images.Length).Select(i =>
        {
            var row = probabilities.Data.Slice(i * 10, 10).ToArray();
            return Enumerable.Range(0, 10).OrderByDescending(c => row[c]).Take(k).Select(c => (c, row[c])).ToArray();
        })];
    }

    private static void AssertPrinted(string output, List<(int Class, float Probability)[]> expected)
    {
        foreach (var image in expected)
            for (int r = 0; r < image.Length; r++)
                Assert.Matches($@"\|\s+{r + 1}\s+\|\s+{image[r].Class}\s+\|\s+{(image[r].Probability * 100).ToString("F2", System.Globalization.CultureInfo.InvariantCulture)}%", output);
    }

    [Fact]
    public void Predict_with_a_checkpoint_prints_the_top_k_softmax_classes_per_image()
    {
        var (model, checkpoint) = Checkpointed();
        var images = Images();
        var (code, output) = Invoke(["predict", "--model", checkpoint, "--topk", "3", .. images]);
        Assert.True(code == 0, output);
        Assert.Contains("bar.png", output);
        Assert.Contains("ring.png", output);
        AssertPrinted(output, Expected(model, images, 3));
        Assert.Equal(2 * 3, System.Text.RegularExpressions.Regex.Count(output, @"\|\s+\d+\s+\|\s+\d+\s+\|\s+[\d.]+%"));
    }

    [Fact]
    public void Predict_with_the_exported_onnx_model_prints_the_same_classes()
    {
        var (model, checkpoint) = Checkpointed();
        string onnx = _dir.File("convnet.onnx");
        var (exportCode, exportOutput) = Invoke("export", "--checkpoint", checkpoint, "--output", onnx);
        Assert.True(exportCode == 0, exportOutput);
        Assert.Contains("ConvNet, opset 13", exportOutput);

        var images = Images();
        var (code, output) = Invoke(["predict", "--model", onnx, "--topk", "2", .. images]);
        Assert.True(code == 0, output);
        Assert.Contains("ONNX model", output);
        AssertPrinted(output, Expected(model, images, 2));
    }

    [Fact]
    public void Export_writes_a_model_that_onnx_runtime_runs_like_the_checkpoint()
    {
        var (model, checkpoint) = Checkpointed();
        string onnx = _dir.File("m.onnx");
        var (code, output) = Invoke("export", "-c", checkpoint, "-o", onnx, "--opset", "15");
        Assert.True(code == 0, output);
        Assert.Contains("ConvNet, opset 15", output);
        Assert.Equal(15, OnnxModel.Load(onnx).Opset);
        var input = Tensor.Uniform(new Generator(4), new Shape(3, 1, 28, 28), 0f, 1f);
        model.Eval();
        TensorAssert.Close(model.Forward(input).Data, OnnxRuntimeRunner.Run(File.ReadAllBytes(onnx), input).Data, new Tolerance(1e-4, 1e-5));
    }

    [Fact]
    public void Predict_and_export_accept_pytorch_state_dicts_of_convnet_and_lenet5()
    {
        var images = Images();
        foreach (string name in new[] { "seed_convnet", "lenet5" })
        {
            var (code, output) = Invoke(["predict", "-m", ConformanceModels.StateDict(name), "-k", "1", .. images]);
            Assert.True(code == 0, output);
            Assert.Contains(name == "lenet5" ? "lenet5 from" : "convnet from", output); // the zoo model its keys matched
            string onnx = _dir.File(name + ".onnx");
            Assert.Equal(0, Invoke("export", "-c", ConformanceModels.StateDict(name), "-o", onnx).ExitCode);
            var input = ConformanceModels.Input(name);
            TensorAssert.Close(ConformanceModels.Output(name).Data, OnnxRuntimeRunner.Run(File.ReadAllBytes(onnx), input).Data, new Tolerance(1e-4, 1e-5), name);
        }
    }

    [Fact]
    public void Predict_with_no_invert_keeps_a_dark_on_light_image_as_it_is()
    {
        var (model, checkpoint) = Checkpointed();
        string ring = Images()[1];
        var (code, output) = Invoke("predict", "--model", checkpoint, "--no-invert", "-k", "1", ring);
        Assert.True(code == 0, output);
        model.Eval();
        var x = ImageLoader.LoadBatch([ring], ImagePreprocessing.Mnist with { Inversion = ImageInversion.Never });
        var p = F.Softmax(model.Forward(x), 1).ToArray();
        int top = Array.IndexOf(p, p.Max());
        Assert.Matches($@"\|\s+1\s+\|\s+{top}\s+\|\s+{(p[top] * 100).ToString("F2", System.Globalization.CultureInfo.InvariantCulture)}%", output);
    }

    [Fact]
    public void Predict_names_a_bad_image_file_and_fails()
    {
        var (_, checkpoint) = Checkpointed();
        string bad = _dir.File("notes.png");
        File.WriteAllText(bad, "not an image");
        var (code, output) = Invoke("predict", "--model", checkpoint, Images()[0], bad);
        Assert.Equal(1, code);
        Assert.Contains("error:", output);
        Assert.Contains("notes.png: not a PNG or JPEG file", output);
    }

    [Fact]
    public void Predict_reports_each_bad_image_and_still_classifies_the_others()
    {
        // Before: the first unreadable image aborted the whole batch, and a hostile JPEG hung it.
        var (model, checkpoint) = Checkpointed();
        var images = Images();
        string notImage = _dir.File("notes.png"), missing = _dir.File("missing.png"), hostile = _dir.File("hang.jpg");
        string directory = _dir.File("scans") + Path.DirectorySeparatorChar;
        Directory.CreateDirectory(directory);
        File.WriteAllText(notImage, "not an image");
        File.Copy(Path.Combine(AppContext.BaseDirectory, "Fixtures", "images", "hostile", "jpeg_app0_length_ffff.jpg"), hostile);
        var (code, output) = Data.ImageLoaderHostileTests.WithinTimeLimit(
            () => Invoke(["predict", "--model", checkpoint, "--topk", "2", images[0], notImage, missing, hostile, directory, images[1]]), "predict");
        Assert.Equal(1, code);
        Assert.Contains("notes.png: not a PNG or JPEG file", output);
        Assert.Contains($"{missing}: file not found", output);
        Assert.Contains("hang.jpg: JPEG truncated: segment 0xffe0 at offset 2 claims 65535 bytes", output);
        // Before: the OS's "Access to the path is denied".
        Assert.Contains($"{directory} is a directory, expected a file", output);
        Assert.Contains("4 of 6 images could not be read", output);
        AssertPrinted(output, Expected(model, images, 2));
        Assert.Equal(4, output.Split('\n').Count(line => line.StartsWith("error:", StringComparison.Ordinal)));

        var (allBad, allBadOutput) = Invoke("predict", "--model", checkpoint, notImage);
        Assert.Equal(1, allBad);
        Assert.Contains("1 of 1 images could not be read", allBadOutput);
        Assert.DoesNotContain("probability", allBadOutput);
    }

    [Fact]
    public void Predict_and_export_refuse_a_file_that_holds_no_known_model()
    {
        string other = _dir.File("other.safetensors");
        SafeTensors.Write(other, new Dictionary<string, Tensor> { ["w"] = Tensor.Zeros(2) });
        var (code, output) = Invoke("predict", "--model", other, Images()[0]);
        Assert.Equal(1, code);
        Assert.Contains("match no known model", output);
        var (exportCode, exportOutput) = Invoke("export", "--checkpoint", other, "--output", _dir.File("x.onnx"));
        Assert.Equal(1, exportCode);
        Assert.Contains("match no known model", exportOutput);
        Assert.False(File.Exists(_dir.File("x.onnx")));
    }

    [Theory]
    [InlineData("--topk", "0")]
    [InlineData("--opset", "12")]
    public void Bad_option_values_are_refused(string option, string value)
    {
        var (code, output) = option == "--topk"
            ? Invoke("predict", "--model", "m.onnx", option, value, "a.png")
            : Invoke("export", "--checkpoint", "c.safetensors", "--output", "o.onnx", option, value);
        Assert.NotEqual(0, code);
        Assert.Contains(option, output);
    }

    [Fact]
    public void Probabilities_from_a_softmax_head_are_not_softmaxed_twice()
    {
        var probabilities = Tensor.FromArray([0.7f, 0.2f, 0.1f, 0.1f, 0.1f, 0.8f], 2, 3);
        Assert.Same(probabilities, PredictCommand.ToProbabilities(probabilities));
        var logits = Tensor.FromArray([2f, 1f, 0f], 1, 3);
        Assert.Equal(F.Softmax(logits, 1).ToArray(), PredictCommand.ToProbabilities(logits).ToArray());
    }
}
