using CnnSharp.Autograd;
using CnnSharp.Cli.Commands;
using CnnSharp.Cli.Rendering;
using CnnSharp.Data;
using CnnSharp.IO;
using CnnSharp.Models;
using CnnSharp.Modules;
using CnnSharp.Tests.TestUtilities;
using StbImageSharp;

namespace CnnSharp.Tests.Cli;

/// <summary><c>cnnsharp visualize</c>: the first layer's filters and the first convolutions' feature maps, checked pixel by pixel.</summary>
public sealed class VisualizeCommandTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Digit()
    {
        string path = _dir.File("digit.png");
        // A light bar on black, as MNIST digits are (so auto-inversion leaves it as it is).
        File.WriteAllBytes(path, PngWriter.Gray(28, 28, (x, y) => (byte)(x is > 10 and < 16 && y is > 4 and < 24 ? 250 : 0)));
        return path;
    }

    private static ImageResult Decode(string path) => ImageResult.FromMemory(File.ReadAllBytes(path), ColorComponents.Grey);

    [Fact]
    public void Filters_and_feature_maps_of_a_convnet_checkpoint_are_the_min_max_scaled_weights_and_outputs()
    {
        var model = new ConvNet(generator: new Generator(11));
        string checkpoint = _dir.File("convnet.safetensors");
        Checkpoint.Save(checkpoint, model, null, epoch: 1);
        string output = _dir.File("out");
        var (code, text) = CliRunner.Invoke(300, "visualize", checkpoint, "--image", Digit(), "-o", output, "--layers", "2");
        Assert.True(code == 0, text);

        // 16 filters 5x5 in a 4x4 grid, each pixel 8x8 (zoom 40/5).
        var filters = Decode(Path.Combine(output, "filters-layer1.0.png"));
        int zoom = VisualizeCommand.Zoom(5, 40), tile = 5 * zoom + TileGrid.Gap;
        Assert.Equal((TileGrid.Gap + 4 * tile, TileGrid.Gap + 4 * tile), (filters.Width, filters.Height));
        var w = model.Layer1[0] is Conv2d conv ? conv.Weight.ToArray() : throw new InvalidOperationException();
        var filter5 = w.AsSpan(5 * 25, 25).ToArray();
        // Filter 5 is row 1, column 1 of the grid; its pixel (y 3, x 2) is drawn at the centre of its block.
        int px = TileGrid.Gap + 1 * tile + 2 * zoom + zoom / 2, py = TileGrid.Gap + 1 * tile + 3 * zoom + zoom / 2;
        Assert.Equal(TileGrid.Scale(filter5[3 * 5 + 2], filter5.Min(), filter5.Max()), filters.Data[py * filters.Width + px]);

        // The first convolution's output for the image, channel 7.
        var image = ImageLoader.Load(Digit(), ImagePreprocessing.Mnist);
        model.Eval();
        Tensor maps;
        using (GradMode.NoGrad()) maps = ((Conv2d)model.Layer1[0]).Forward(new Tensor(image.ToArray(), new Shape(1, 1, 28, 28)));
        var channel7 = maps.ToArray().AsSpan(7 * 28 * 28, 28 * 28).ToArray();
        var features = Decode(Path.Combine(output, "features-1-layer1.0.png"));
        int mapZoom = VisualizeCommand.Zoom(28, 56), mapTile = 28 * mapZoom + TileGrid.Gap;
        Assert.Equal(TileGrid.Gap + 4 * mapTile, features.Width);
        px = TileGrid.Gap + 3 * mapTile + 13 * mapZoom;
        py = TileGrid.Gap + 1 * mapTile + 9 * mapZoom;
        Assert.Equal(TileGrid.Scale(channel7[9 * 28 + 13], channel7.Min(), channel7.Max()), features.Data[py * features.Width + px]);
        // --layers 2: the second convolution's 32 maps of 14x14 as well.
        var second = Decode(Path.Combine(output, "features-2-layer2.0.png"));
        Assert.Equal(TileGrid.Gap + 6 * (14 * VisualizeCommand.Zoom(14, 56) + TileGrid.Gap), second.Width);
        Assert.Contains("filters-layer1.0.png", text, StringComparison.Ordinal);
    }

    [Fact]
    public void A_zoo_model_without_a_checkpoint_gets_fresh_weights_and_rgb_filters()
    {
        string photo = _dir.File("photo.png");
        File.WriteAllBytes(photo, PngWriter.Encode(2, 2, 3, [255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 9, 9]));
        string output = _dir.File("zoo");
        var (code, text) = CliRunner.Invoke(300, "visualize", "--model", "resnet8", "--image-size", "16", "--image", photo, "-o", output, "--max-maps", "4");
        Assert.True(code == 0, text);
        var filters = ImageResult.FromMemory(File.ReadAllBytes(Path.Combine(output, "filters-conv1.png")), ColorComponents.RedGreenBlue);
        // resnet8's stem: 16 RGB filters of 3x3, a 4x4 grid.
        int tile = 3 * VisualizeCommand.Zoom(3, 40) + TileGrid.Gap;
        Assert.Equal(TileGrid.Gap + 4 * tile, filters.Width);
        var maps = ImageResult.FromMemory(File.ReadAllBytes(Path.Combine(output, "features-1-conv1.png")), ColorComponents.Grey);
        // 4 of the 16 maps (16x16): a 2x2 grid.
        Assert.Equal(TileGrid.Gap + 2 * (16 * VisualizeCommand.Zoom(16, 56) + TileGrid.Gap), maps.Width);
        Assert.Contains("4 of 16 feature maps", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_a_checkpoint_or_model_it_says_what_it_needs()
    {
        var (code, text) = CliRunner.Invoke(300, "visualize", "--image", Digit(), "-o", _dir.File("x"));
        Assert.Equal(1, code);
        Assert.Contains("visualize needs a checkpoint or --model", text, StringComparison.Ordinal);
    }
}
