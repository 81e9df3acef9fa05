using System.Xml.Linq;
using CnnSharp.Cli.Rendering;
using CnnSharp.Tests.TestUtilities;
using StbImageSharp;

namespace CnnSharp.Tests.Cli;

/// <summary><c>cnnsharp plot</c>: training curves and confusion matrices as PNG (decoded back) and SVG (parsed back).</summary>
public sealed class PlotCommandTests : IDisposable
{
    private static readonly Rgb s_train = new(31, 119, 180), s_validation = new(255, 127, 14), s_test = new(44, 160, 44);
    private static readonly XNamespace s_svg = "http://www.w3.org/2000/svg";

    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>Three epochs with train and test measured and validation never (null).</summary>
    private string MetricsLog(string? text = null)
    {
        string path = _dir.File("metrics.jsonl");
        File.WriteAllText(path, text ??
            """
            {"epoch":1,"epochs":3,"lr":0.001,"train_loss":0.9,"train_accuracy":0.70,"val_loss":null,"val_accuracy":null,"test_loss":0.8,"test_accuracy":0.75,"seconds":4.1,"eval_seconds":0.3}
            {"epoch":2,"epochs":3,"lr":0.001,"train_loss":0.5,"train_accuracy":0.85,"val_loss":null,"val_accuracy":null,"test_loss":0.55,"test_accuracy":0.83,"seconds":4.0,"eval_seconds":0.3}

            {"epoch":3,"epochs":3,"lr":0.0005,"train_loss":0.3,"train_accuracy":0.91,"val_loss":null,"val_accuracy":null,"test_loss":0.4,"test_accuracy":0.88,"seconds":4.2,"eval_seconds":0.3}
            """);
        return path;
    }

    private string EvaluationJson(string matrix = "[[5,1,0],[2,7,0],[0,0,9]]", string classes = "[\"cat\",\"dog\",\"fish\"]")
    {
        string path = _dir.File("evaluate.json");
        File.WriteAllText(path, $$"""{"checkpoint":"x","count":24,"classes":{{classes}},"confusion_matrix":{{matrix}}}""");
        return path;
    }

    private static ImageResult DecodePng(string path) => ImageResult.FromMemory(File.ReadAllBytes(path), ColorComponents.RedGreenBlue);

    private static int CountPixels(ImageResult image, Rgb color)
    {
        int count = 0;
        for (int i = 0; i < image.Data.Length; i += 3)
            if (image.Data[i] == color.R && image.Data[i + 1] == color.G && image.Data[i + 2] == color.B) count++;
        return count;
    }

    [Fact]
    public void Curves_png_has_the_chart_size_and_draws_exactly_the_measured_series()
    {
        string png = _dir.File("curves.png");
        var (code, output) = CliRunner.Invoke(200, "plot", MetricsLog(), "-o", png);
        Assert.True(code == 0, output);
        var image = DecodePng(png);
        Assert.Equal((TrainingCurves.Width, TrainingCurves.Height), (image.Width, image.Height));
        // Two panels of three points each, lines 2 px wide: hundreds of pixels per measured series, none for validation.
        Assert.InRange(CountPixels(image, s_train), 300, 20_000);
        Assert.InRange(CountPixels(image, s_test), 300, 20_000);
        Assert.Equal(0, CountPixels(image, s_validation));
    }

    [Fact]
    public void Curves_svg_has_one_polyline_per_measured_series_with_falling_loss_and_rising_accuracy()
    {
        string svg = _dir.File("curves.svg");
        var (code, output) = CliRunner.Invoke(200, "plot", MetricsLog(), "-o", svg);
        Assert.True(code == 0, output);
        var doc = XDocument.Load(svg);
        Assert.Equal(s_svg + "svg", doc.Root!.Name);
        var series = doc.Descendants(s_svg + "polyline").ToDictionary(p => (string)p.Attribute("class")!, p => Points(p));
        Assert.Equal(["series test_accuracy", "series test_loss", "series train_accuracy", "series train_loss"], series.Keys.Order());
        Assert.All(series.Values, points => Assert.Equal(3, points.Length));
        // y grows downwards: a falling loss has growing y, a rising accuracy falling y; epochs go left to right.
        Assert.True(series["series train_loss"].Zip(series["series train_loss"].Skip(1)).All(p => p.First.Y < p.Second.Y && p.First.X < p.Second.X));
        Assert.True(series["series train_accuracy"].Zip(series["series train_accuracy"].Skip(1)).All(p => p.First.Y > p.Second.Y));
        Assert.Contains(doc.Descendants(s_svg + "text"), t => t.Value == "epoch");
    }

    private static (double X, double Y)[] Points(XElement polyline) =>
    [
        .. ((string)polyline.Attribute("points")!).Split(' ').Select(p => p.Split(','))
            .Select(p => (double.Parse(p[0], System.Globalization.CultureInfo.InvariantCulture), double.Parse(p[1], System.Globalization.CultureInfo.InvariantCulture))),
    ];

    [Fact]
    public void A_missing_value_breaks_the_line_and_a_single_epoch_still_draws()
    {
        string log = MetricsLog("""
            {"epoch":1,"train_loss":0.9,"val_loss":0.95}
            {"epoch":2,"train_loss":0.7,"val_loss":null}
            {"epoch":3,"train_loss":0.5,"val_loss":0.6}
            """);
        string svg = _dir.File("gap.svg");
        var (code, output) = CliRunner.Invoke(200, "plot", log, "-o", svg);
        Assert.True(code == 0, output);
        var lines = XDocument.Load(svg).Descendants(s_svg + "polyline").ToLookup(p => (string)p.Attribute("class")!, Points);
        Assert.Equal([3], lines["series train_loss"].Select(p => p.Length));
        Assert.Equal([1, 1], lines["series val_loss"].Select(p => p.Length));
        Assert.Empty(lines["series train_accuracy"]);
    }

    [Theory]
    [InlineData("{\"epoch\":1,\"train_loss\":0.5}\n{\"epoch\":2,\"train_loss\":\"low\"}\n", "metrics.jsonl:2: \"train_loss\" must be a number or null")]
    [InlineData("{\"epoch\":1,\"train_loss\":0.5}\n\n{\"epoch\":3,\n", "metrics.jsonl:3: not valid JSON")]
    [InlineData("{\"train_loss\":0.5}\n", "metrics.jsonl:1: \"epoch\" must be a whole number >= 1")]
    [InlineData("[1,2]\n", "metrics.jsonl:1: expected a JSON object per epoch")]
    [InlineData("\n\n", "metrics.jsonl: no epochs")]
    public void A_malformed_metrics_log_is_one_error_naming_the_file_and_line(string text, string expected)
    {
        string png = _dir.File("bad.png");
        var (code, output) = CliRunner.Invoke(400, "plot", MetricsLog(text), "-o", png);
        Assert.Equal(1, code);
        Assert.Contains("error: ", output, StringComparison.Ordinal);
        Assert.Contains(expected, output, StringComparison.Ordinal);
        Assert.False(File.Exists(png));
    }

    [Fact]
    public void Confusion_svg_shades_cells_by_count_and_labels_the_classes()
    {
        string svg = _dir.File("cm.svg");
        var (code, output) = CliRunner.Invoke(200, "plot", "--confusion", EvaluationJson(), "-o", svg);
        Assert.True(code == 0, output);
        var doc = XDocument.Load(svg);
        var cells = doc.Descendants(s_svg + "rect").Where(r => ((string?)r.Attribute("class"))?.StartsWith("cell ", StringComparison.Ordinal) == true)
            .ToDictionary(r => (string)r.Attribute("class")!, r => (string)r.Attribute("fill")!);
        Assert.Equal(9, cells.Count);
        Assert.Equal(ConfusionHeatmap.High.Hex, cells["cell 2 2"]); // the largest count, 9
        Assert.Equal(ConfusionHeatmap.Low.Hex, cells["cell 0 2"]);  // 0
        // Darker with the count: 9 (2,2) > 7 (1,1) > 5 (0,0) > 2 (1,0) > 1 (0,1) > 0.
        string[] order = ["cell 2 2", "cell 1 1", "cell 0 0", "cell 1 0", "cell 0 1", "cell 0 2"];
        var luminance = order.Select(c => Luminance(cells[c])).ToArray();
        Assert.True(luminance.Zip(luminance.Skip(1)).All(p => p.First < p.Second), string.Join(", ", luminance));
        var texts = doc.Descendants(s_svg + "text").Select(t => t.Value).ToList();
        Assert.Contains("0 cat", texts);
        Assert.Contains("2 fish", texts);
        Assert.Contains("9", texts);
    }

    private static double Luminance(string hex)
    {
        int v = Convert.ToInt32(hex[1..], 16);
        return new Rgb((byte)(v >> 16), (byte)(v >> 8), (byte)v).Luminance;
    }

    [Fact]
    public void Confusion_png_decodes_with_every_count_in_its_own_shade()
    {
        string png = _dir.File("cm.png");
        var (code, output) = CliRunner.Invoke(200, "plot", "--confusion", EvaluationJson(), "-o", png);
        Assert.True(code == 0, output);
        var image = DecodePng(png);
        var (width, height) = ConfusionHeatmap.Size(new ConfusionMatrix(["cat", "dog", "fish"], [[5, 1, 0], [2, 7, 0], [0, 0, 9]]));
        Assert.Equal((width, height), (image.Width, image.Height));
        int cell = ConfusionHeatmap.CellSize(3);
        // Each shade fills its cells but for the digits written on them: one cell of 9, and four of 0.
        Assert.InRange(CountPixels(image, ConfusionHeatmap.Fill(9, 9)), cell * cell * 8 / 10, cell * cell);
        Assert.InRange(CountPixels(image, ConfusionHeatmap.Fill(0, 9)), 4 * cell * cell * 8 / 10, 4 * cell * cell);
        foreach (long count in new long[] { 1, 2, 5, 7 })
            Assert.InRange(CountPixels(image, ConfusionHeatmap.Fill(count, 9)), cell * cell * 8 / 10, cell * cell);
    }

    [Theory]
    [InlineData("[[1,2],[3]]", "[\"a\",\"b\"]", "\"confusion_matrix\" row 1 must be an array of 2 counts")]
    [InlineData("[[1,-2],[3,4]]", "[\"a\",\"b\"]", "\"confusion_matrix\"[0][1] must be a whole number >= 0")]
    [InlineData("[[1,2],[3,4]]", "[\"a\"]", "\"classes\" must be an array of 2 strings")]
    [InlineData("[]", "null", "\"confusion_matrix\" must be an array of 1 to 1000 rows")]
    public void A_malformed_evaluation_report_is_one_error_naming_the_file(string matrix, string classes, string expected)
    {
        var (code, output) = CliRunner.Invoke(400, "plot", "--confusion", EvaluationJson(matrix, classes), "-o", _dir.File("cm.png"));
        Assert.Equal(1, code);
        Assert.Contains("evaluate.json: " + expected, output, StringComparison.Ordinal);
    }

    [Fact]
    public void An_evaluation_report_that_is_not_json_names_the_line()
    {
        string path = _dir.File("evaluate.json");
        File.WriteAllText(path, "{\n\"confusion_matrix\": [[1]],\n oops }");
        var (code, output) = CliRunner.Invoke(400, "plot", "--confusion", path, "-o", _dir.File("cm.svg"));
        Assert.Equal(1, code);
        Assert.Contains("evaluate.json:3: not valid JSON", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Another_output_extension_is_refused_before_anything_is_read()
    {
        var (code, output) = CliRunner.Invoke(400, "plot", _dir.File("missing.jsonl"), "-o", _dir.File("curves.jpg"));
        Assert.Equal(1, code);
        Assert.Contains("must end in .png or .svg", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(4)]
    public void Png_encoder_round_trips_through_stb_image(int channels)
    {
        var random = new Random(5);
        var pixels = new byte[13 * 7 * channels];
        random.NextBytes(pixels);
        var image = ImageResult.FromMemory(PngEncoder.Encode(13, 7, channels, pixels), (ColorComponents)channels);
        Assert.Equal((13, 7), (image.Width, image.Height));
        Assert.Equal(pixels, image.Data);
    }

    [Fact]
    public void Every_printable_character_has_a_glyph_and_others_a_box()
    {
        for (char c = '!'; c <= '~'; c++)
        {
            Assert.Contains(true, BitmapFont.Glyph(c).Cast<bool>()); // every printable character but space sets a pixel
        }
        Assert.DoesNotContain(true, BitmapFont.Glyph(' ').Cast<bool>());
        Assert.True(BitmapFont.Glyph('é')[0, 0]);
        Assert.Equal(6 * 3 - 1, BitmapFont.Measure("abc", 1));
    }
}
