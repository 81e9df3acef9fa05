using System.Text.Json;
using CnnSharp.Autograd;
using CnnSharp.Data;
using CnnSharp.Functional;
using CnnSharp.IO;
using CnnSharp.Models;
using CnnSharp.Modules;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Cli;

/// <summary><c>evaluate</c>, <c>predict</c> and <c>summary</c> with any zoo model, from checkpoint metadata, key matching or <c>--model</c>.</summary>
public sealed class ZooModelCliTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>An image folder of 2 classes x 3 RGB pictures of 20x12 (cat: reddish, dog: bluish).</summary>
    private string Folder()
    {
        string root = _dir.File("pets");
        for (int label = 0; label < 2; label++)
        {
            string dir = Path.Combine(root, label == 0 ? "cat" : "dog");
            Directory.CreateDirectory(dir);
            for (int i = 0; i < 3; i++)
            {
                var pixels = new byte[20 * 12 * 3];
                for (int p = 0; p < 20 * 12; p++)
                    (pixels[3 * p], pixels[3 * p + 1], pixels[3 * p + 2]) = label == 0 ? ((byte)(200 + i * 10), (byte)(p % 50), (byte)30) : ((byte)20, (byte)(p % 70), (byte)(180 + i * 20));
                File.WriteAllBytes(Path.Combine(dir, $"{i}.png"), PngWriter.Encode(20, 12, 3, pixels));
            }
        }
        return root;
    }

    /// <summary>A resnet8 checkpoint for 3x16x16 images of 2 classes, with the metadata 'cnnsharp train' writes.</summary>
    private (ResNet8 Model, string Path) Checkpointed(string folder)
    {
        var model = new ResNet8(2, new Generator(4), 3);
        string path = _dir.File("pets.safetensors");
        Checkpoint.Save(path, model, null, epoch: 3, new Dictionary<string, string>
        {
            ["in_channels"] = "3", ["num_classes"] = "2", ["image_size"] = "16", ["dataset"] = folder, ["classes"] = "cat,dog",
            ["normalize_mean"] = "0.5,0.4,0.3", ["normalize_std"] = "0.2,0.25,0.5",
        });
        return (model, path);
    }

    [Fact]
    public void Evaluate_reads_the_architecture_data_set_and_classes_from_the_checkpoint()
    {
        string folder = Folder();
        var (model, path) = Checkpointed(folder);
        var (code, output) = CliRunner.Invoke(200, "evaluate", "-c", path, "--json");
        Assert.True(code == 0, output);
        using var doc = JsonDocument.Parse(output);
        var root = doc.RootElement;
        Assert.Equal(["cat", "dog"], root.GetProperty("classes").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("resnet8", root.GetProperty("model").GetString());
        Assert.Equal(3, root.GetProperty("epoch").GetInt32());
        var matrix = root.GetProperty("confusion_matrix").EnumerateArray().Select(r => r.EnumerateArray().Select(e => e.GetInt64()).ToArray()).ToArray();

        // The same predictions as the model run directly on the folder's images.
        var data = new ImageFolder(folder, 3, 16, 16);
        var images = new float[6 * 3 * 16 * 16];
        var labels = new int[6];
        data.Fill([0, 1, 2, 3, 4, 5], images, labels);
        model.Eval();
        Tensor logits;
        // Normalised as the checkpoint's metadata says.
        for (int i = 0; i < images.Length; i++)
        {
            int c = i / 256 % 3;
            images[i] = (images[i] - new[] { 0.5f, 0.4f, 0.3f }[c]) / new[] { 0.2f, 0.25f, 0.5f }[c];
        }
        using (GradMode.NoGrad()) logits = model.Forward(new Tensor(images, new Shape(6, 3, 16, 16)));
        Assert.Equal(F.CrossEntropy(logits, labels).Item(), root.GetProperty("loss").GetDouble(), 3);
        var predicted = logits.ArgMax(1);
        var expected = new long[2, 2];
        for (int i = 0; i < 6; i++) expected[labels[i], predicted[i]]++;
        Assert.Equal([expected[0, 0], expected[0, 1], expected[1, 0], expected[1, 1]], matrix.SelectMany(r => r));
        Assert.Equal(6, root.GetProperty("count").GetInt32());
    }

    [Fact]
    public void Evaluate_table_names_the_classes_and_refuses_a_data_set_the_model_cannot_take()
    {
        string folder = Folder();
        var (_, path) = Checkpointed(folder);
        var (code, output) = CliRunner.Invoke(100, "evaluate", "-c", path, "--dataset", folder);
        Assert.True(code == 0, output);
        Assert.Contains("0 cat", output, StringComparison.Ordinal);
        Assert.Contains("1 dog", output, StringComparison.Ordinal);
        Assert.All(output.Split('\n'), line => Assert.True(line.TrimEnd('\r').Length <= 100, line));

        (code, output) = CliRunner.Invoke(300, "evaluate", "-c", path, "--dataset", "fashion-mnist");
        Assert.Equal(1, code);
        Assert.Contains("the model takes 3x16x16 images; Fashion-MNIST's are 1x28x28", output, StringComparison.Ordinal);
        (code, output) = CliRunner.Invoke(300, "evaluate", "-c", path, "--dataset", _dir.File("nowhere"));
        Assert.Equal(1, code);
        Assert.Contains("is neither mnist, fashion-mnist nor a folder", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Predict_prints_class_names_from_the_checkpoint()
    {
        string folder = Folder();
        var (_, path) = Checkpointed(folder);
        var (code, output) = CliRunner.Invoke(200, "predict", "-m", path, "-k", "2", Path.Combine(folder, "cat", "0.png"));
        Assert.True(code == 0, output);
        Assert.Contains("0 cat", output, StringComparison.Ordinal);
        Assert.Contains("1 dog", output, StringComparison.Ordinal);
        Assert.Contains($"resnet8 from {path}", output, StringComparison.Ordinal);
        // -c alone names the model file, as in evaluate and export: the same table.
        var (codeC, outputC) = CliRunner.Invoke(200, "predict", "-c", path, "-k", "2", Path.Combine(folder, "cat", "0.png"));
        Assert.True(codeC == 0, outputC);
        Assert.Equal(output, outputC);
        // Neither: a command-line error saying what is missing.
        var (codeNone, outputNone) = CliRunner.Invoke(200, "predict", Path.Combine(folder, "cat", "0.png"));
        Assert.Equal(2, codeNone);
        Assert.Contains("missing the model: cnnsharp predict -m model.safetensors image.png", outputNone, StringComparison.Ordinal);
    }

    [Fact]
    public void A_bare_state_dict_is_matched_by_its_keys_with_classes_and_channels_from_its_shapes()
    {
        var model = new ResNet20(4, new Generator(2), 1);
        string path = _dir.File("resnet20.safetensors");
        model.SaveSafetensors(path);
        var (code, output) = CliRunner.Invoke(200, "summary", path, "--json");
        Assert.True(code == 0, output);
        using var doc = JsonDocument.Parse(output);
        Assert.Equal([1, 1, 32, 32], doc.RootElement.GetProperty("inputShape").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal([1, 4], doc.RootElement.GetProperty("layers")[0].GetProperty("outputShape").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal(model.Parameters().Sum(p => (long)p.Numel), doc.RootElement.GetProperty("totalParameters").GetInt64());
    }

    [Fact]
    public void Summary_takes_an_input_shape_and_an_explicit_architecture()
    {
        var (code, output) = CliRunner.Invoke(200, "summary", "--model", "resnet18", "--input-shape", "3,64,64", "--json");
        Assert.True(code == 0, output);
        using var doc = JsonDocument.Parse(output);
        Assert.Equal(11_689_512, doc.RootElement.GetProperty("totalParameters").GetInt64());
        var layer4 = doc.RootElement.GetProperty("layers").EnumerateArray().Single(l => l.GetProperty("name").GetString() == "layer4");
        Assert.Equal([1, 512, 2, 2], layer4.GetProperty("outputShape").EnumerateArray().Select(e => e.GetInt32()));

        (code, output) = CliRunner.Invoke(200, "summary", "--model", "resnet8", "--input-shape", "3,x,2");
        Assert.Equal(1, code);
        Assert.Contains("--input-shape must be C,H,W", output, StringComparison.Ordinal);
        (code, output) = CliRunner.Invoke(200, "summary");
        Assert.Equal(1, code);
        Assert.Contains("summary needs a checkpoint or --model", output, StringComparison.Ordinal);
    }

    [Fact]
    public void A_state_dict_for_other_settings_is_loaded_with_model_and_num_classes()
    {
        // vgg-small with 5 classes saved by PyTorch-style code: --model and --num-classes say what it is.
        var model = new VggSmall(5, new Generator(8), 3);
        string path = _dir.File("weights.safetensors");
        model.SaveSafetensors(path);
        string image = Path.Combine(Folder(), "dog", "1.png");
        var (code, output) = CliRunner.Invoke(200, "predict", "-m", "vgg-small", "-c", path, "--num-classes", "5", image);
        Assert.True(code == 0, output);
        Assert.Contains("vgg-small from", output, StringComparison.Ordinal);
        (code, output) = CliRunner.Invoke(200, "predict", "-m", "resnet99", "-c", path, image);
        Assert.Equal(1, code);
        Assert.Contains("names the zoo model", output, StringComparison.Ordinal);
    }

    [Fact]
    public void A_torch_save_file_is_read_and_matched()
    {
        string pt = Path.Combine(AppContext.BaseDirectory, "Fixtures", "torch", "convnet.pt");
        string digit = _dir.File("digit.png");
        File.WriteAllBytes(digit, PngWriter.Gray(28, 28, (x, y) => (byte)(x * 9)));
        var (code, output) = CliRunner.Invoke(200, "predict", "-m", pt, digit);
        Assert.True(code == 0, output);
        Assert.Contains("convnet from", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Evaluate_gives_an_onnx_export_the_same_metrics_as_its_checkpoint()
    {
        var model = new ConvNet(generator: new Generator(21));
        string checkpoint = _dir.File("convnet.safetensors"), onnx = _dir.File("convnet.onnx");
        Checkpoint.Save(checkpoint, model, null, epoch: 2);
        model.Eval();
        CnnSharp.Onnx.OnnxExporter.Export(model, [1, 1, 28, 28], onnx);
        JsonElement Evaluate(string path)
        {
            var (code, output) = CliRunner.Invoke(200, "evaluate", "-c", path, "--data-dir", Mnist.DefaultDirectory, "--limit", "40", "--json");
            Assert.True(code == 0, output);
            return JsonDocument.Parse(output).RootElement;
        }
        var fromCheckpoint = Evaluate(checkpoint);
        var fromOnnx = Evaluate(onnx);
        Assert.Equal("convnet", fromCheckpoint.GetProperty("model").GetString());
        Assert.Equal(JsonValueKind.Null, fromOnnx.GetProperty("model").ValueKind);
        Assert.Equal(fromCheckpoint.GetProperty("confusion_matrix").GetRawText(), fromOnnx.GetProperty("confusion_matrix").GetRawText());
        Assert.Equal(fromCheckpoint.GetProperty("loss").GetDouble(), fromOnnx.GetProperty("loss").GetDouble(), 4);
        Assert.Equal(40, fromOnnx.GetProperty("count").GetInt32());
    }

    [Fact]
    public void Summary_of_an_onnx_model_lists_the_plan_with_output_shapes()
    {
        var model = new ConvNet(generator: new Generator(22));
        model.Eval();
        string onnx = _dir.File("convnet.onnx");
        CnnSharp.Onnx.OnnxExporter.Export(model, [1, 1, 28, 28], onnx);
        var (code, output) = CliRunner.Invoke(200, "summary", onnx, "--batch", "3");
        Assert.True(code == 0, output);
        Assert.True(output.Contains("(3, 10)", StringComparison.Ordinal), output);
        Assert.DoesNotContain("runtime:", output, StringComparison.Ordinal);
        Assert.True(output.Contains("total params (initializers):", StringComparison.Ordinal), output);
    }

    // Found by hostile use: summary convnet.onnx --input-shape 3,28,28 (the model takes 1x28x28) printed a table whose one
    // row was "runtime: planning for input (1, 3, 28, 28) failed: ..." and exited 0.
    [Fact]
    public void Summary_of_an_onnx_model_with_an_input_shape_it_does_not_declare_exits_1()
    {
        var model = new ConvNet(generator: new Generator(22));
        model.Eval();
        string onnx = _dir.File("convnet.onnx");
        CnnSharp.Onnx.OnnxExporter.Export(model, [1, 1, 28, 28], onnx);
        var (code, output) = CliRunner.Invoke(200, "summary", onnx, "--input-shape", "3,28,28");
        Assert.True(code == 1, output);
        Assert.Contains("--input-shape 3,28,28: ", output, StringComparison.Ordinal);
        Assert.Contains("declares its input as (batch, 1, 28, 28)", output, StringComparison.Ordinal);
        (code, output) = CliRunner.Invoke(200, "summary", onnx, "--input-shape", "1,28,28");
        Assert.True(code == 0, output);
    }
}
