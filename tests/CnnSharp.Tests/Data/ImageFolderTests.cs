using CnnSharp.Data;
using CnnSharp.Data.Transforms;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Data;

/// <summary>ImageFolder over small generated PNG sets: class order, labels, channels, resizing, laziness, cache, unreadable files, and end to end through a DataLoader.</summary>
public sealed class ImageFolderTests : IDisposable
{
    private readonly ScratchDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Root => Path.Combine(_dir.Path, "images");

    private string Put(string relative, byte[] bytes)
    {
        string path = Path.Combine(Root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    /// <summary>A 4x4 grey PNG whose 2x2 quadrants are a, b (top) and c, d (bottom).</summary>
    private static byte[] Quadrants(byte a, byte b, byte c, byte d) =>
        PngWriter.Gray(4, 4, (x, y) => y < 2 ? (x < 2 ? a : b) : (x < 2 ? c : d));

    /// <summary>A 2x1 RGB PNG: a red pixel then a blue one.</summary>
    private static byte[] RedBlue() => PngWriter.Encode(2, 1, 3, [255, 0, 0, 0, 0, 255]);

    [Fact]
    public void Classes_are_sorted_sub_folders_and_images_are_listed_in_ordinal_order()
    {
        Put("zebra/b.png", Quadrants(0, 0, 0, 0));
        Put("zebra/a.PNG", Quadrants(0, 0, 0, 0));
        Put("Apple/nested/x.png", Quadrants(0, 0, 0, 0));
        Put("Apple/notes.txt", "not an image"u8.ToArray());
        Put("cat/c.jpeg", File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Fixtures", "images", JpegFixture())));
        var folder = new ImageFolder(Root, channels: 1, height: 2, width: 2);
        Assert.Equal(["Apple", "cat", "zebra"], folder.Classes); // ordinal: upper case first
        Assert.Equal([0, 1, 2, 2], folder.Samples.Select(s => s.Label));
        Assert.Equal(["x.png", "c.jpeg", "a.PNG", "b.png"], folder.Samples.Select(s => Path.GetFileName(s.Path)));
        Assert.Equal(4, folder.Count);
        Assert.Equal(new Shape(1, 2, 2), folder.SampleShape);
    }

    private static string JpegFixture() =>
        Path.GetFileName(Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Fixtures", "images"), "*.jp*g").Order(StringComparer.Ordinal).First());

    [Fact]
    public void Grayscale_resize_averages_areas_exactly()
    {
        Put("a/q.png", Quadrants(0, 51, 102, 255));
        var folder = new ImageFolder(Root, channels: 1, height: 2, width: 2);
        var pixels = new float[4];
        var labels = new int[1];
        folder.Fill([0], pixels, labels);
        Assert.Equal([0f, 51 / 255f, 102 / 255f, 1f], pixels, new FloatTolerance(1e-6f));
        Assert.Equal(0, labels[0]);
    }

    [Fact]
    public void Rgb_output_keeps_the_channels_and_grayscale_uses_bt601_luma()
    {
        Put("only/rb.png", RedBlue());
        var rgb = new float[6];
        var labels = new int[1];
        new ImageFolder(Root, channels: 3, height: 1, width: 2).Fill([0], rgb, labels);
        Assert.Equal([1f, 0f, 0f, 0f, 0f, 1f], rgb); // (C, H, W): R plane, G plane, B plane
        var gray = new float[2];
        new ImageFolder(Root, channels: 1, height: 1, width: 2).Fill([0], gray, labels);
        Assert.Equal([0.299f, 0.114f], gray, new FloatTolerance(1e-6f));
    }

    [Fact]
    public void Images_are_decoded_lazily_and_the_cache_keeps_them()
    {
        string path = Put("a/q.png", Quadrants(10, 20, 30, 40));
        var lazy = new ImageFolder(Root, channels: 1, height: 4, width: 4);
        var cached = new ImageFolder(Root, channels: 1, height: 4, width: 4, cache: true);
        var first = new float[16];
        var labels = new int[1];
        cached.Fill([0], first, labels);
        File.WriteAllBytes(path, Quadrants(200, 200, 200, 200)); // changed after listing
        var lazyPixels = new float[16];
        lazy.Fill([0], lazyPixels, labels);
        Assert.Equal(200 / 255f, lazyPixels[0], 6); // decoded on access, not at construction
        var again = new float[16];
        cached.Fill([0], again, labels);
        Assert.Equal(first, again); // from the cache
        Assert.Equal(10 / 255f, again[0], 6);
    }

    [Fact]
    public void An_unreadable_image_fails_with_its_name_or_is_skipped_and_reported()
    {
        Put("a/good.png", Quadrants(1, 2, 3, 4));
        string bad = Put("a/bad.png", [0x89, (byte)'P', (byte)'N', (byte)'G', 1, 2, 3]);
        Put("b/good.png", Quadrants(5, 6, 7, 8));
        var strict = new ImageFolder(Root, channels: 1, height: 4, width: 4);
        Assert.Equal(3, strict.Count);
        var ex = Assert.Throws<ImageFormatException>(() => strict.Fill([0], new float[16], new int[1]));
        Assert.Contains("bad.png", ex.Message, StringComparison.Ordinal);

        var lenient = new ImageFolder(Root, channels: 1, height: 4, width: 4, skipUnreadable: true);
        Assert.Equal(2, lenient.Count);
        var skipped = Assert.Single(lenient.Skipped);
        Assert.Equal(bad, skipped.Path);
        Assert.Contains("bad.png", skipped.Reason, StringComparison.Ordinal);
        Assert.Equal([0, 1], lenient.Samples.Select(s => s.Label));
    }

    [Fact]
    public void Bad_layouts_are_refused_with_the_folder_named()
    {
        Assert.Throws<DirectoryNotFoundException>(() => new ImageFolder(Root));
        Directory.CreateDirectory(Root);
        Assert.Contains("has no class folder", Assert.Throws<FileNotFoundException>(() => new ImageFolder(Root)).Message, StringComparison.Ordinal);
        Put("a/x.png", Quadrants(0, 0, 0, 0));
        Put("empty/readme.md", "x"u8.ToArray());
        var ex = Assert.Throws<FileNotFoundException>(() => new ImageFolder(Root));
        Assert.Contains("empty has no .png, .jpg or .jpeg file", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => new ImageFolder(Root, channels: 2));
    }

    [Fact]
    public void End_to_end_a_generated_image_set_trains_through_a_loader_with_augmentation()
    {
        // Two classes, 6 images each: bright-left versus bright-right 8x8 grey images with a little noise.
        var random = new Generator(3);
        for (int i = 0; i < 6; i++)
        {
            Put($"left/{i}.png", PngWriter.Gray(8, 8, (x, _) => (byte)((x < 4 ? 200 : 30) + random.NextInt(20))));
            Put($"right/{i}.png", PngWriter.Gray(8, 8, (x, _) => (byte)((x >= 4 ? 200 : 30) + random.NextInt(20))));
        }
        var folder = new ImageFolder(Root, channels: 1, height: 8, width: 8, cache: true);
        var (train, validation) = DatasetSplit.TrainValidation(folder, 0.25, seed: 1);
        Assert.Equal((9, 3), (train.Count, validation.Count));
        var transform = new Compose(new RandomCrop(8, padding: 1), new Normalize([0.5f], [0.5f]));
        var loader = new DataLoader(train, 4, shuffle: true, seed: 2, transform: transform, numWorkers: 2);
        int seen = 0;
        foreach (var batch in loader)
        {
            Assert.Equal(new Shape(batch.Count, 1, 8, 8), batch.Images.Shape);
            for (int k = 0; k < batch.Count; k++)
            {
                int label = folder.Label(train.Indices[batch.Indices[k]]);
                Assert.Equal(label, batch.Labels[k]);
                // The bright half stays bright after a crop of at most one pixel and normalisation to [-1, 1].
                var image = batch.Images.Data.Slice(k * 64, 64);
                float left = image[3 * 8 + 1], right = image[3 * 8 + 6];
                Assert.True(label == 0 ? left > right : right > left, $"sample {k}: {left} vs {right}");
            }
            seen += batch.Count;
        }
        Assert.Equal(9, seen);
    }
}
