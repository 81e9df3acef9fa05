using CnnSharp.Data;
using CnnSharp.IO;
using CnnSharp.Models;
using CnnSharp.Onnx;
using CnnSharp.Optimizers;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Cli;

/// <summary>The wrong file, a directory or no file where a model is expected: one line that says which, not what the bytes parse to.</summary>
public sealed class WrongInputFileTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static (int ExitCode, string Output) Invoke(params string[] args) => CliRunner.Invoke(1000, args);

    private string Png()
    {
        string png = _dir.File("digit.png");
        File.WriteAllBytes(png, PngWriter.Gray(28, 28, (x, y) => (byte)(x * 9)));
        return png;
    }

    private static void AssertOneErrorLine(int code, string output, string expected)
    {
        Assert.True(code == 1, output);
        Assert.Contains("error: " + expected, output, StringComparison.Ordinal);
        Assert.Single(output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    // Found by hostile use: "summary --model lenet5 --image-size 32" ended its error with .NET's " (Parameter 'options')",
    // a C# parameter name the user never typed.
    [Fact]
    public void Error_lines_do_not_carry_dotnet_parameter_names()
    {
        var (code, text) = Invoke("summary", "--model", "lenet5", "--image-size", "32");
        Assert.True(code == 1, text);
        Assert.Contains("lenet5: takes 1x28x28 images only", text, StringComparison.Ordinal);
        Assert.DoesNotContain("(Parameter '", text, StringComparison.Ordinal);
        Assert.Equal("bad value 3", CnnSharp.Cli.Commands.ErrorReporting.Describe(new ArgumentOutOfRangeException("x", 3, "bad value 3")));
    }

    [Fact]
    public void A_png_given_as_checkpoint_is_named_as_a_png_image()
    {
        string png = Png();
        var (code, output) = Invoke("evaluate", "--checkpoint", png);
        AssertOneErrorLine(code, output, $"{png} is a PNG image, not a safetensors file");
        (code, output) = Invoke("export", "--checkpoint", png, "--output", _dir.File("x.onnx"));
        AssertOneErrorLine(code, output, $"{png} is a PNG image, not a safetensors file");
        (code, output) = Invoke("predict", "--model", png, png);
        AssertOneErrorLine(code, output, $"{png} is a PNG image, not a safetensors file");
    }

    [Fact]
    public void An_onnx_model_given_as_checkpoint_is_named_as_an_onnx_model()
    {
        string onnx = _dir.File("model.bin");
        OnnxExporter.Export(new ConvNet(generator: new Generator(1)), [1, 1, 28, 28], onnx);
        var (code, output) = Invoke("evaluate", "--checkpoint", onnx);
        AssertOneErrorLine(code, output, $"{onnx} is an ONNX model, not a safetensors file");
        Assert.DoesNotContain("header length", output, StringComparison.Ordinal);
    }

    [Fact]
    public void A_directory_given_as_model_or_checkpoint_is_named_as_a_directory()
    {
        string directory = _dir.File("model.onnx");
        Directory.CreateDirectory(directory);
        var (code, output) = Invoke("predict", "--model", directory, Png());
        AssertOneErrorLine(code, output, $"{directory} is a directory, expected a file");
        (code, output) = Invoke("evaluate", "--checkpoint", _dir.Path);
        AssertOneErrorLine(code, output, $"{_dir.Path} is a directory, expected a file");
    }

    [Fact]
    public void A_missing_file_is_reported_as_not_found_with_its_path()
    {
        string missing = _dir.File("nope/none.safetensors");
        var (code, output) = Invoke("export", "--checkpoint", missing, "--output", _dir.File("x.onnx"));
        AssertOneErrorLine(code, output, $"{missing}: file not found");
        (code, output) = Invoke("predict", "--model", _dir.File("none.onnx"), Png());
        AssertOneErrorLine(code, output, $"{_dir.File("none.onnx")}: file not found");
    }

    [Fact]
    public void An_epoch_that_is_no_number_is_reported_as_such_not_as_missing()
    {
        string path = _dir.File("odd-epoch.safetensors");
        var model = new ConvNet(generator: new Generator(2));
        SafeTensors.Write(path, model.StateDict().ToDictionary(e => e.Key, e => e.Value), new Dictionary<string, string> { ["epoch"] = "three" });
        var (code, output) = Invoke("evaluate", "--checkpoint", path);
        AssertOneErrorLine(code, output, $"{path}: __metadata__ 'epoch' is \"three\", expected the number of epochs completed");
        Assert.DoesNotContain("no 'epoch'", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Adam_state_resumed_with_sgd_is_one_line_that_names_the_fix()
    {
        string checkpoint = _dir.File("adam.safetensors");
        var model = new ConvNet(generator: new Generator(3));
        var adam = new Adam(model.Parameters());
        foreach (var p in model.Parameters()) p.Grad = Tensor.Ones(p.Shape.Dims.ToArray());
        adam.Step();
        Checkpoint.Save(checkpoint, model, adam, epoch: 1);
        // The resume check names the changed setting first; with the change allowed, the optimizer state itself cannot load.
        var (code, output) = Invoke("train", "--resume", checkpoint, "--optimizer", "sgd", "--epochs", "2", "--limit", "100", "--test-limit", "100",
            "--output", _dir.File("out.safetensors"), "--data-dir", Mnist.DefaultDirectory);
        Assert.True(code == 1, output);
        Assert.True(output.Contains($"error: --optimizer sgd differs from the adam that {checkpoint} was trained with; resume with --optimizer adam", StringComparison.Ordinal), output);
        Assert.DoesNotContain("state.0", output, StringComparison.Ordinal);
        (code, output) = Invoke("train", "--resume", checkpoint, "--optimizer", "sgd", "--epochs", "2", "--limit", "100", "--test-limit", "100",
            "--output", _dir.File("out.safetensors"), "--data-dir", Mnist.DefaultDirectory, "--allow-changed-hyperparameters");
        Assert.True(code == 1, output);
        Assert.True(output.Contains($"error: {checkpoint} holds Adam optimizer state; run with --optimizer adam, or without --resume", StringComparison.Ordinal), output);
        Assert.DoesNotContain("state.0", output, StringComparison.Ordinal);
        Assert.False(File.Exists(_dir.File("out.safetensors")));
    }
}
