using CnnSharp.Cli.Rendering;
using CnnSharp.Tests.TestUtilities;
using Spectre.Console;

namespace CnnSharp.Tests.Cli;

/// <summary>
/// Output piped into a file or another program: every line whole (a grep for "test accuracy" finds the epoch line), every
/// table header uncropped, and nothing but ASCII.
/// </summary>
public sealed class PipedOutputTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static readonly string[] s_trainingHeaders =
        ["epoch", "train loss", "val loss", "val accuracy", "test loss", "test accuracy", "train time", "images/s", "eval time"];

    private static void AssertAscii(string text) =>
        Assert.True(text.All(c => c < 128), "non-ASCII output: " + string.Concat(text.Where(c => c >= 128).Distinct()));

    [Fact]
    public void A_redirected_console_neither_wraps_lines_nor_crops_a_wide_table()
    {
        var writer = new StringWriter();
        var console = ConsoleSetup.Create(writer, redirected: true, noColor: null, columns: null);
        Assert.Equal(ConsoleSetup.RedirectedWidth, console.Profile.Width);
        string line = string.Join("  ", Enumerable.Repeat("epoch 12/30  train loss 0.1234  test accuracy 91.23%", 4));
        console.MarkupLine(Markup.Escape(line));
        var table = Tables.Create(console);
        foreach (string header in s_trainingHeaders) table.AddColumn(new TableColumn(header).RightAligned());
        table.AddRow("12/30", "0.1234", "0.2345", "90.12%", "0.3456", "100.00%", "116.2 s", "12345", "10.5 s");
        console.Write(table);
        string text = writer.ToString();
        Assert.Contains(line + Environment.NewLine, text, StringComparison.Ordinal);
        string headerRow = text.Split('\n').Single(l => l.Contains("epoch |", StringComparison.Ordinal));
        foreach (string header in s_trainingHeaders) Assert.Contains(header, headerRow, StringComparison.Ordinal);
        AssertAscii(text);
    }

    [Theory]
    [InlineData("60", 60)]
    [InlineData("0", ConsoleSetup.RedirectedWidth)]
    [InlineData("wide", ConsoleSetup.RedirectedWidth)]
    [InlineData("-5", ConsoleSetup.RedirectedWidth)]
    public void Columns_bounds_a_redirected_console_when_it_is_a_positive_number(string columns, int width)
    {
        var console = ConsoleSetup.Create(new StringWriter(), redirected: true, noColor: null, columns);
        Assert.Equal(width, console.Profile.Width);
    }

    [Fact]
    public void The_real_process_piped_prints_whole_lines_and_full_headers_in_ascii()
    {
        // Twelve 8x8 images in two classes: the smallest run that prints every column of the training table.
        string folder = _dir.File("images");
        for (int k = 0; k < 2; k++)
        {
            Directory.CreateDirectory(Path.Combine(folder, $"class{k}"));
            for (int n = 0; n < 6; n++)
                File.WriteAllBytes(Path.Combine(folder, $"class{k}", $"{n}.png"), PngWriter.Gray(8, 8, (x, y) => (byte)(k == 0 ? x * 30 : y * 30 + n)));
        }
        string output = _dir.File("a-checkpoint-with-a-rather-long-name-so-that-lines-pass-eighty-columns.safetensors");
        var (code, text) = CliProcess.Run(TimeSpan.FromMinutes(3),
            "train", "--model", "lenet5", "--dataset", folder, "--val-split", "0.25", "--epochs", "1", "--batch-size", "4", "--threads", "1", "--output", output);
        Assert.True(code == 0, text);
        var lines = text.Split('\n');
        Assert.Single(lines, l => l.StartsWith("epoch 1/1  train loss", StringComparison.Ordinal) && l.Contains("test accuracy", StringComparison.Ordinal));
        string headerRow = lines.Single(l => l.StartsWith("| epoch", StringComparison.Ordinal));
        foreach (string header in s_trainingHeaders) Assert.Contains(header, headerRow, StringComparison.Ordinal);
        Assert.Contains("Checkpoint: " + output, text, StringComparison.Ordinal);
        AssertAscii(text);

        // An error naming a long path is one line too.
        string missing = _dir.File("no-such-checkpoint-with-an-equally-long-name-to-pass-eighty-columns.safetensors");
        (code, text) = CliProcess.Run(TimeSpan.FromMinutes(1), "evaluate", "--checkpoint", missing);
        Assert.Equal(1, code);
        Assert.Contains($"{missing}: file not found", text, StringComparison.Ordinal);

        // With --json the messages go to standard error, under the same rules: whole, plain.
        (code, text) = CliProcess.Run(TimeSpan.FromMinutes(1), "train", "--json", "--model", "lenet5", "--dataset", folder, "--val-split", "0.25", "--epochs", "2",
            "--batch-size", "4", "--threads", "1", "--resume", output, "--lr", "0.5", "--output", output);
        Assert.Equal(1, code);
        Assert.Contains($"error: --lr 0.5 differs from the 0.001 that {output} was trained with; resume with --lr 0.001, or pass --allow-changed-hyperparameters", text, StringComparison.Ordinal);
        AssertAscii(text);
        Assert.DoesNotContain('\u001b', text);
    }
}
