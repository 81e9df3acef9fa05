using System.Globalization;
using CnnSharp.Data;
using CnnSharp.Functional;
using CnnSharp.IO;
using CnnSharp.Models;
using CnnSharp.Modules;
using CnnSharp.Tests.Onnx;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Cli;

/// <summary><c>cnnsharp predict</c> and <c>export</c> with the 3x32x32 models, from the PyTorch state dicts in Fixtures/models/.</summary>
public sealed class ColourModelCliTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static string StateDict(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "models", name + ".safetensors");

    /// <summary>A 40x24 colour gradient on a light background (so auto-inversion, were it applied, would flip it).</summary>
    private string Image()
    {
        var pixels = new byte[40 * 24 * 3];
        for (int y = 0; y < 24; y++)
            for (int x = 0; x < 40; x++)
            {
                int i = (y * 40 + x) * 3;
                bool inside = x is > 8 and < 32 && y is > 4 and < 20;
                (pixels[i], pixels[i + 1], pixels[i + 2]) = inside ? ((byte)(x * 6), (byte)(y * 10), (byte)90) : ((byte)240, (byte)235, (byte)230);
            }
        string path = _dir.File("photo.png");
        File.WriteAllBytes(path, PngWriter.Encode(40, 24, 3, pixels));
        return path;
    }

    [Theory]
    [InlineData("vgg_small")]
    [InlineData("resnet8")]
    public void Predict_recognises_the_model_by_its_keys_and_feeds_it_uninverted_3x32x32_colour(string name)
    {
        string image = Image();
        var (code, output) = CliRunner.Invoke(250, "predict", "-m", StateDict(name), "-k", "2", image, image);
        Assert.True(code == 0, output);
        Module model = name == "resnet8" ? new ResNet8() : new VggSmall();
        Assert.Contains((name == "resnet8" ? "resnet8" : "vgg-small") + " from", output); // the zoo model its keys matched
        model.LoadSafetensors(StateDict(name));
        model.Eval();
        var batch = ImageLoader.LoadBatch([image, image], new ImagePreprocessing(3, 32, 32, ImageInversion.Never));
        var p = F.Softmax(model.Forward(batch), 1).ToArray()[..10];
        int top = Array.IndexOf(p, p.Max());
        Assert.Matches($@"\|\s+1\s+\|\s+{top}\s+\|\s+{(p[top] * 100).ToString("F2", CultureInfo.InvariantCulture)}%", output);
    }

    [Fact]
    public void Export_writes_vgg_small_with_a_3x32x32_input_and_onnx_runtime_agrees()
    {
        string onnx = _dir.File("vgg.onnx");
        var (code, output) = CliRunner.Invoke(250, "export", "-c", StateDict("vgg_small"), "-o", onnx);
        Assert.True(code == 0, output);
        Assert.Contains("VggSmall, opset 13, input (batch, 3, 32, 32)", output);
        var model = new VggSmall();
        model.LoadSafetensors(StateDict("vgg_small"));
        model.Eval();
        var input = Tensor.Randn(new Generator(7), 2, 3, 32, 32);
        TensorAssert.Close(model.Forward(input).Data, OnnxRuntimeRunner.Run(File.ReadAllBytes(onnx), input).Data, new Tolerance(1e-4, 1e-5));
    }

    [Fact]
    public void Export_writes_resnet8_with_its_residual_adds_and_onnx_runtime_agrees()
    {
        // Once refused ("a module with its own Forward cannot be traced"); the traced exporter follows BasicBlock's add.
        string onnx = _dir.File("resnet.onnx");
        var (code, output) = CliRunner.Invoke(250, "export", "-c", StateDict("resnet8"), "-o", onnx);
        Assert.True(code == 0, output);
        Assert.Contains("ResNet8, opset 13, input (batch, 3, 32, 32)", output);
        var model = new ResNet8();
        model.LoadSafetensors(StateDict("resnet8"));
        model.Eval();
        var input = Tensor.Randn(new Generator(8), 2, 3, 32, 32);
        TensorAssert.Close(model.Forward(input).Data, OnnxRuntimeRunner.Run(File.ReadAllBytes(onnx), input).Data, new Tolerance(1e-4, 1e-5));
    }
}
