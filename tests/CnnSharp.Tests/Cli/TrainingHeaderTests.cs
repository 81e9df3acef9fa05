using CnnSharp.Cli.Rendering;
using CnnSharp.Cli.Training;
using CnnSharp.Tests.TestUtilities;
using CnnSharp.Training;

namespace CnnSharp.Tests.Cli;

/// <summary>The settings line <c>cnnsharp train</c> prints before it starts, and the summary table after.</summary>
public sealed class TrainingHeaderTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static string Header(TrainingJobOptions options)
    {
        var writer = new StringWriter();
        new TrainingView(CliRunner.PlainConsole(writer, 400)).Header(options, TrainingJob.Resolve(options));
        return writer.ToString();
    }

    // An image folder of two classes, 'count' 4x4 grayscale PNGs each, under root (or root/train and root/test).
    private static string Folder(string root, int count)
    {
        foreach (string label in new[] { "a", "b" })
        {
            Directory.CreateDirectory(Path.Combine(root, label));
            for (int n = 0; n < count; n++)
                File.WriteAllBytes(Path.Combine(root, label, $"{n}.png"), PngWriter.Encode(4, 4, 1, new byte[16]));
        }
        return root;
    }

    [Fact]
    public void Limits_past_the_data_set_are_refused_naming_its_size()
    {
        var e = Assert.Throws<ArgumentException>(() => TrainingJob.Resolve(new TrainingJobOptions { Dataset = "fashion-mnist", Limit = 70_000 }));
        Assert.Equal("--limit 70,000: fashion-mnist has 60,000 training images", e.Message);
        e = Assert.Throws<ArgumentException>(() => TrainingJob.Resolve(new TrainingJobOptions { TestLimit = 10_001 }));
        Assert.Equal("--test-limit 10,001: mnist has 10,000 test images", e.Message);
        Assert.Contains("first 60,000 training images", Header(new TrainingJobOptions { Limit = 60_000, Threads = 1 }), StringComparison.Ordinal);
    }

    [Fact]
    public void Limits_inside_the_data_set_print_as_given()
    {
        string header = Header(new TrainingJobOptions { Limit = 1_500, TestLimit = 10_000, Threads = 1 });
        Assert.Contains("first 1,500 training images, first 10,000 test images", header, StringComparison.Ordinal);
        Assert.DoesNotContain("first", Header(new TrainingJobOptions { Threads = 1 }), StringComparison.Ordinal);
    }

    [Fact]
    public void Limits_count_the_images_of_an_image_folder_not_MNISTs()
    {
        // Before: the bounds were MNIST's (60,000 and 10,000) whatever the data set.
        string root = _dir.Path;
        Folder(Path.Combine(root, "train"), 6);
        Folder(Path.Combine(root, "test"), 2);
        var job = new TrainingJobOptions { Model = "lenet5", Dataset = root, ImageSize = 4, Limit = 12, TestLimit = 3, Threads = 1 };
        Assert.Contains("first 12 training images, first 3 test images", Header(job), StringComparison.Ordinal);
        Assert.Equal((12, 4), (TrainingJob.Resolve(job).TrainImages, TrainingJob.Resolve(job).TestImages));
        var e = Assert.Throws<ArgumentException>(() => TrainingJob.Resolve(job with { Limit = 13 }));
        Assert.Equal($"--limit 13: {Path.GetFullPath(root)} has 12 training images", e.Message);
        Assert.Throws<ArgumentException>(() => TrainingJob.Resolve(job with { TestLimit = 5 }));
        // A folder without test/ has no test images to limit.
        string flat = Folder(Path.Combine(root, "flat"), 5);
        e = Assert.Throws<ArgumentException>(() => TrainingJob.Resolve(job with { Dataset = flat, Limit = 10 }));
        Assert.Contains("has no test set", e.Message, StringComparison.Ordinal);
        Assert.Equal(7, TrainingJob.Resolve(job with { Dataset = flat, Limit = 10, TestLimit = null }).TrainCount(7, 0));
    }

    private static TrainingRun Run(int epochs) => new(null!, null!,
        [.. Enumerable.Range(1, epochs).Select(e => new EpochReport(e, epochs, 0.5, 0.4, 0.875, 1000, TimeSpan.FromSeconds(12.5), TimeSpan.FromSeconds(1), "run.safetensors"))],
        "resnet20", "fashion-mnist", 54_000, 6_000, 10_000);

    [Fact]
    public void Summary_table_is_plain_ascii_within_the_console_width_and_ends_with_the_total_time()
    {
        var writer = new StringWriter();
        new TrainingView(CliRunner.PlainConsole(writer, 72)).Summary(Run(2), new TrainingOptions(), TimeSpan.FromSeconds(812.34));
        string text = writer.ToString();
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.All(lines, line => Assert.True(line.TrimEnd('\r').Length <= 72, $"wider than 72 columns: '{line}'"));
        Assert.Contains(lines, line => line.StartsWith('+') && line.Contains("---", StringComparison.Ordinal)); // ASCII borders
        Assert.DoesNotContain("─", text, StringComparison.Ordinal); // no box-drawing characters when not on a terminal
        Assert.DoesNotContain("\u001b[", text, StringComparison.Ordinal);
        Assert.True(text.Contains("87.50", StringComparison.Ordinal), text); // cells wrap rather than widen the table
        Assert.EndsWith("Total time: 812.3 s (13 min 32 s)", text.TrimEnd(), StringComparison.Ordinal);
    }

    [Fact]
    public void An_epoch_without_test_metrics_shows_dashes_not_NaN()
    {
        var skipped = new EpochReport(1, 2, 0.5, double.NaN, double.NaN, 1000, TimeSpan.FromSeconds(12.5), TimeSpan.Zero, null);
        var run = new TrainingRun(null!, null!, [skipped, new EpochReport(2, 2, 0.4, 0.3, 0.9, 1000, TimeSpan.FromSeconds(12), TimeSpan.FromSeconds(1), null)],
            "resnet8", "fashion-mnist", 1000, 0, 100);
        var writer = new StringWriter();
        new TrainingView(CliRunner.PlainConsole(writer, 120)).Summary(run, new TrainingOptions(), TimeSpan.FromSeconds(30));
        string text = writer.ToString();
        Assert.DoesNotContain("NaN", text, StringComparison.Ordinal);
        Assert.Contains("90.00%", text, StringComparison.Ordinal);
        Assert.DoesNotContain("NaN", TrainingView.DescribeShort(skipped), StringComparison.Ordinal);
        Assert.DoesNotContain("NaN", TrainingView.Describe(skipped), StringComparison.Ordinal);
    }

    [Fact]
    public void Total_time_under_a_minute_is_seconds_alone()
    {
        Assert.Equal("42.0 s", TrainingView.TotalTime(TimeSpan.FromSeconds(42)));
        Assert.Equal("60.0 s (1 min 0 s)", TrainingView.TotalTime(TimeSpan.FromSeconds(60)));
    }
}
