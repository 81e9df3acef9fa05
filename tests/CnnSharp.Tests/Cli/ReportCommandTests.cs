using System.Text.Json;
using CnnSharp.Data;
using CnnSharp.IO;
using CnnSharp.Models;

namespace CnnSharp.Tests.Cli;

/// <summary><c>summary</c> and the metrics of <c>evaluate</c>, as tables and as <c>--json</c>.</summary>
public sealed class ReportCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("cnnsharp-report-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Summary_json_of_resnet18_has_torchinfos_totals_and_stage_shapes()
    {
        var (code, output) = CliRunner.Invoke(80, "summary", "--model", "resnet18", "--json");
        Assert.True(code == 0, output);
        using var doc = JsonDocument.Parse(output);
        var root = doc.RootElement;
        Assert.Equal(11_689_512, root.GetProperty("totalParameters").GetInt64());
        Assert.Equal(1_814_073_344, root.GetProperty("totalMultAdds").GetInt64());
        Assert.Equal([1, 3, 224, 224], root.GetProperty("inputShape").EnumerateArray().Select(e => e.GetInt32()));
        var layer4 = root.GetProperty("layers").EnumerateArray().Single(l => l.GetProperty("name").GetString() == "layer4");
        Assert.Equal([1, 512, 7, 7], layer4.GetProperty("outputShape").EnumerateArray().Select(e => e.GetInt32()));
    }

    [Fact]
    public void Summary_table_fits_the_console_and_follows_the_options()
    {
        var (code, output) = CliRunner.Invoke(80, "summary", "--model", "resnet8", "--in-channels", "1", "--image-size", "28", "--num-classes", "7", "--batch", "2");
        Assert.True(code == 0, output);
        Assert.All(output.Split('\n'), line => Assert.True(line.TrimEnd('\r').Length <= 80, line));
        Assert.Contains("|     conv1 ", output, StringComparison.Ordinal);
        Assert.Contains("(2, 7)", output, StringComparison.Ordinal);
        Assert.Contains("total params", output, StringComparison.Ordinal);
        // Plain console: ASCII borders only.
        Assert.DoesNotContain("╭", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--model", "resnet99")]
    [InlineData("--image-size", "0")]
    public void Summary_refuses_bad_options(string option, string value)
    {
        string[] args = option == "--model" ? ["summary", option, value] : ["summary", "--model", "resnet8", option, value];
        var (code, output) = CliRunner.Invoke(200, args);
        Assert.NotEqual(0, code);
        Assert.Contains(value, output, StringComparison.Ordinal);
    }

    [Fact]
    public void Summary_of_a_fixed_input_model_at_another_size_is_a_clear_error()
    {
        var (code, output) = CliRunner.Invoke(200, "summary", "--model", "lenet5", "--image-size", "32");
        Assert.Equal(1, code);
        Assert.Contains("error:", output, StringComparison.Ordinal);
        Assert.Contains("lenet5", output, StringComparison.Ordinal);
    }

    private string TinyCheckpoint()
    {
        string path = Path.Combine(_dir, "tiny.safetensors");
        Checkpoint.Save(path, new ConvNet(generator: new Generator(3)), null, epoch: 1);
        return path;
    }

    [Fact]
    public void Evaluate_prints_the_confusion_matrix_and_per_class_metrics()
    {
        var (code, output) = CliRunner.Invoke(80, "evaluate", "--checkpoint", TinyCheckpoint(), "--data-dir", Mnist.DefaultDirectory, "--limit", "50");
        Assert.True(code == 0, output);
        Assert.All(output.Split('\n'), line => Assert.True(line.TrimEnd('\r').Length <= 80, line));
        Assert.Contains("confusion matrix", output, StringComparison.Ordinal);
        Assert.Contains("precision", output, StringComparison.Ordinal);
        Assert.Contains("macro avg", output, StringComparison.Ordinal);
        Assert.Matches(@"\d+\.\d\d% \(\d+/50\)", output);
    }

    [Fact]
    public void Evaluate_limit_past_the_test_set_is_refused_naming_its_size()
    {
        var (code, output) = CliRunner.Invoke(200, "evaluate", "--checkpoint", TinyCheckpoint(), "--data-dir", Mnist.DefaultDirectory, "--limit", "10001");
        Assert.Equal(1, code);
        Assert.Contains("--limit 10,001: mnist has 10,000 test images", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Evaluate_json_is_consistent_with_itself()
    {
        var (code, output) = CliRunner.Invoke(200, "evaluate", "--checkpoint", TinyCheckpoint(), "--data-dir", Mnist.DefaultDirectory, "--limit", "50", "--json");
        Assert.True(code == 0, output);
        using var doc = JsonDocument.Parse(output);
        var root = doc.RootElement;
        Assert.Equal(50, root.GetProperty("count").GetInt32());
        var matrix = root.GetProperty("confusion_matrix").EnumerateArray().Select(r => r.EnumerateArray().Select(e => e.GetInt64()).ToArray()).ToArray();
        Assert.Equal(10, matrix.Length);
        Assert.Equal(50, matrix.Sum(r => r.Sum()));
        Assert.Equal(root.GetProperty("correct").GetInt64(), Enumerable.Range(0, 10).Sum(i => matrix[i][i]));
        var perClass = root.GetProperty("perClass").EnumerateArray().ToArray();
        Assert.Equal(10, perClass.Length);
        for (int c = 0; c < 10; c++)
        {
            Assert.Equal(matrix[c].Sum(), perClass[c].GetProperty("support").GetInt64());
            long predicted = matrix.Sum(r => r[c]);
            double precision = predicted == 0 ? 0 : (double)matrix[c][c] / predicted;
            Assert.Equal(precision, perClass[c].GetProperty("precision").GetDouble(), 12);
        }
        Assert.Equal(perClass.Average(p => p.GetProperty("f1").GetDouble()), root.GetProperty("macro").GetProperty("f1").GetDouble(), 12);
    }
}
