using CnnSharp.IO;
using CnnSharp.Models;
using CnnSharp.Onnx;
using CnnSharp.Tests.Onnx;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Cli;

/// <summary><c>cnnsharp export</c> of zoo models: named with <c>--model</c> or by the checkpoint's metadata, at any input shape.</summary>
public sealed class ExportZooCliTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Model_option_input_shape_and_fixed_batch_shape_the_exported_file()
    {
        var model = ModelZoo.Create("resnet20", new ZooOptions { NumClasses = 7, Generator = new Generator(1) });
        string weights = _dir.File("resnet20.safetensors");
        model.SaveSafetensors(weights);
        string onnx = _dir.File("resnet20.onnx");
        var (code, output) = CliRunner.Invoke(250, "export", weights, "--model", "resnet20", "--input-shape", "3,40,24", "--batch", "2", "-o", onnx);
        Assert.True(code == 0, output);
        Assert.Contains("input (2, 3, 40, 24)", output);
        var session = OnnxSession.Load(onnx);
        Assert.Equal([2L, 3, 40, 24], session.Model.Graph.Inputs[0].Shape!.Select(d => d.Value!.Value));
        var input = Tensor.Uniform(new Generator(2), new Shape(2, 3, 40, 24), -1f, 1f);
        model.Eval();
        TensorAssert.Close(model.Forward(input).Data, session.Run(input).Data, new Tolerance(1e-4, 1e-5), "resnet20");
    }

    [Fact]
    public void Checkpoint_metadata_names_the_model_its_channels_classes_and_image_size()
    {
        var model = ModelZoo.Create("mobilenet-v2", new ZooOptions { InChannels = 1, NumClasses = 4, ImageSize = 24, Generator = new Generator(3) });
        string checkpoint = _dir.File("mobilenet.safetensors");
        // Checkpoint.Save writes "model" itself (the class name, MobileNetV2); the others are what train adds.
        Checkpoint.Save(checkpoint, model, null, epoch: 1, new Dictionary<string, string>
        {
            ["in_channels"] = "1", ["num_classes"] = "4", ["image_size"] = "24",
        });
        string onnx = _dir.File("mobilenet.onnx");
        var (code, output) = CliRunner.Invoke(250, "export", checkpoint, "-o", onnx, "--dynamic-batch");
        Assert.True(code == 0, output);
        Assert.Contains("MobileNetV2", output);
        var graph = OnnxModel.Load(onnx).Graph;
        Assert.Equal("batch", graph.Inputs[0].Shape![0].Param);
        Assert.Equal([1L, 24, 24], graph.Inputs[0].Shape!.Skip(1).Select(d => d.Value!.Value));
        var input = Tensor.Uniform(new Generator(4), new Shape(3, 1, 24, 24), -1f, 1f);
        model.Eval();
        TensorAssert.Close(model.Forward(input).Data, OnnxRuntimeRunner.Run(File.ReadAllBytes(onnx), input).Data, new Tolerance(1e-4, 1e-5), "mobilenet-v2");
    }

    [Fact]
    public void Weights_of_another_model_are_refused_naming_both()
    {
        string weights = _dir.File("resnet8.safetensors");
        ModelZoo.Create("resnet8", new ZooOptions { Generator = new Generator(5) }).SaveSafetensors(weights);
        var (code, output) = CliRunner.Invoke(250, "export", weights, "--model", "vgg-small", "-o", _dir.File("x.onnx"));
        Assert.Equal(1, code);
        Assert.Contains("not a vgg-small", output);
        Assert.False(File.Exists(_dir.File("x.onnx")));
    }

    [Theory]
    [InlineData("--batch", "2", "--dynamic-batch")]
    [InlineData("--input-shape", "3,x,4")]
    public void Contradicting_or_malformed_options_are_errors(params string[] extra)
    {
        string weights = _dir.File("r.safetensors");
        ModelZoo.Create("resnet8", new ZooOptions { Generator = new Generator(6) }).SaveSafetensors(weights);
        var (code, output) = CliRunner.Invoke(250, ["export", weights, "--model", "resnet8", "-o", _dir.File("x.onnx"), .. extra]);
        Assert.NotEqual(0, code);
        Assert.Contains(extra[0], output);
    }
}
