using System.Buffers.Binary;
using CnnSharp.Data;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Data;

public sealed class ImageLoaderTests
{
    private static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "images", name);

    [Fact]
    public void Gray_png_at_the_target_size_is_x_over_255_exactly()
    {
        byte[] png = PngWriter.Gray(28, 28, (x, y) => (byte)(x < 2 || y < 2 ? 0 : (x * 7 + y * 3) % 256));
        var t = ImageLoader.Decode(png, "g.png");
        TensorAssert.ShapeIs(t, 1, 28, 28);
        for (int y = 0; y < 28; y++)
            for (int x = 0; x < 28; x++)
                Assert.Equal((x < 2 || y < 2 ? 0 : (x * 7 + y * 3) % 256) / 255f, t.Data[y * 28 + x]);
    }

    [Fact]
    public void Dark_on_light_is_inverted_automatically_and_not_with_never()
    {
        byte[] png = PngWriter.Gray(28, 28, (x, y) => (byte)(x is > 10 and < 18 ? 30 : 240));
        var auto = ImageLoader.Decode(png, "d.png");
        Assert.Equal(1f - 240 / 255f, auto.Data[0], 6);
        Assert.Equal(1f - 30 / 255f, auto.Data[14], 6);
        var never = ImageLoader.Decode(png, "d.png", ImagePreprocessing.Mnist with { Inversion = ImageInversion.Never });
        Assert.Equal(240 / 255f, never.Data[0]);
        var always = ImageLoader.Decode(PngWriter.Gray(28, 28, (_, _) => 0), "b.png", ImagePreprocessing.Mnist with { Inversion = ImageInversion.Always });
        Assert.All(always.ToArray(), v => Assert.Equal(1f, v));
    }

    [Fact]
    public void Colour_becomes_bt601_luma_and_transparency_is_white_paper()
    {
        // Row 0: red, green, blue, transparent; every other pixel opaque black (dark border: no inversion).
        var rgba = new byte[4 * 4 * 4];
        for (int i = 0; i < 16; i++) rgba[4 * i + 3] = 255;
        rgba[0] = 255;
        rgba[4 + 1] = 255;
        rgba[8 + 2] = 255;
        rgba[12 + 3] = 0;
        var t = ImageLoader.Decode(PngWriter.Encode(4, 4, 4, rgba), "c.png", new ImagePreprocessing(1, 4, 4, ImageInversion.Never));
        Assert.Equal(0.299f, t.Data[0], 5);
        Assert.Equal(0.587f, t.Data[1], 5);
        Assert.Equal(0.114f, t.Data[2], 5);
        Assert.Equal(1f, t.Data[3], 6);
        Assert.Equal(0f, t.Data[4]);

        var rgb = ImageLoader.Decode(PngWriter.Encode(4, 4, 4, rgba), "c.png", new ImagePreprocessing(3, 4, 4, ImageInversion.Never));
        TensorAssert.ShapeIs(rgb, 3, 4, 4);
        Assert.Equal([1f, 0f, 0f], new[] { rgb.Data[0], rgb.Data[16], rgb.Data[32] });
        Assert.Equal([1f, 1f, 1f], new[] { rgb.Data[3], rgb.Data[19], rgb.Data[35] });
    }

    [Fact]
    public void Shrinking_averages_the_covered_area()
    {
        // 56x56 -> 28x28: each output is the mean of a 2x2 block.
        byte[] png = PngWriter.Gray(56, 56, (x, y) => (byte)((x + 3 * y) % 200));
        var t = ImageLoader.Decode(png, "big.png", ImagePreprocessing.Mnist with { Inversion = ImageInversion.Never });
        for (int y = 0; y < 28; y++)
            for (int x = 0; x < 28; x++)
            {
                double mean = 0;
                for (int dy = 0; dy < 2; dy++)
                    for (int dx = 0; dx < 2; dx++) mean += (2 * x + dx + 3 * (2 * y + dy)) % 200 / 255.0 / 4;
                Assert.Equal(mean, t.Data[y * 28 + x], 5);
            }

        // 3 -> 2 pixels: fractional coverage, out[0] = (a + b/2) / 1.5.
        var row = ImageLoader.Decode(PngWriter.Gray(3, 3, (x, _) => (byte)(x * 90)), "r.png", new ImagePreprocessing(1, 3, 2, ImageInversion.Never, KeepAspectRatio: false));
        Assert.Equal((0 + 90 / 2.0) / 1.5 / 255, row.Data[0], 5);
        Assert.Equal((90 / 2.0 + 180) / 1.5 / 255, row.Data[1], 5);
    }

    [Fact]
    public void Enlarging_is_bilinear_with_half_pixel_centres()
    {
        // 2 -> 4 pixels: PyTorch's bilinear (align_corners=False) gives a, 0.75a+0.25b, 0.25a+0.75b, b.
        var t = ImageLoader.Decode(PngWriter.Gray(2, 2, (x, _) => (byte)(x * 200)), "s.png", new ImagePreprocessing(1, 4, 4, ImageInversion.Never));
        float b = 200 / 255f;
        for (int y = 0; y < 4; y++)
            Assert.Equal(new[] { 0f, 0.25f * b, 0.75f * b, b }, t.Data.Slice(y * 4, 4).ToArray(), (e, a) => Math.Abs(e - a) < 1e-6);
    }

    [Fact]
    public void Non_square_images_are_padded_with_the_border_colour_not_stretched()
    {
        // 28 wide, 14 high, light digit on black: padded to 28x28 with 7 black rows above and below.
        byte[] png = PngWriter.Gray(28, 14, (x, y) => (byte)(x is > 5 and < 22 && y is > 2 and < 11 ? 255 : 0));
        var t = ImageLoader.Decode(png, "wide.png");
        for (int x = 0; x < 28; x++)
        {
            Assert.Equal(0f, t.Data[3 * 28 + x]);
            Assert.Equal(x is > 5 and < 22 ? 1f : 0f, t.Data[(7 + 5) * 28 + x]);
        }
        var stretched = ImageLoader.Decode(png, "wide.png", ImagePreprocessing.Mnist with { KeepAspectRatio = false });
        Assert.Equal(1f, stretched.Data[7 * 28 + 10]);
        Assert.Equal(0f, t.Data[7 * 28 + 10]);
    }

    [Fact]
    public void Jpeg_files_decode_and_are_preprocessed()
    {
        var light = ImageLoader.Load(Fixture("light_on_dark_16x12.jpg"), new ImagePreprocessing(1, 12, 16, KeepAspectRatio: false));
        TensorAssert.ShapeIs(light, 1, 12, 16);
        Assert.True(light.Data[5 * 16 + 7] > 0.9f, "rectangle centre should be white");
        Assert.True(light.Data[0] < 0.1f, "corner should be black (no inversion for a dark border)");

        var dark = ImageLoader.Load(Fixture("dark_on_light_20x20.jpg"));
        TensorAssert.ShapeIs(dark, 1, 28, 28);
        Assert.True(dark.Data[14 * 28 + 14] > 0.7f, "dark rectangle becomes light after automatic inversion");
        Assert.True(dark.Data[1 * 28 + 1] < 0.1f, "light paper becomes dark");

        var batch = ImageLoader.LoadBatch([Fixture("light_on_dark_16x12.jpg"), Fixture("dark_on_light_20x20.jpg")]);
        TensorAssert.ShapeIs(batch, 2, 1, 28, 28);
        Assert.Equal(dark.ToArray(), batch.Data.Slice(784, 784).ToArray());
    }

    [Theory]
    [InlineData(new byte[0], "the file is empty")]
    [InlineData(new byte[] { (byte)'G', (byte)'I', (byte)'F', (byte)'8', (byte)'9', (byte)'a' }, "not a PNG or JPEG file (starts with 47494638)")]
    [InlineData(new byte[] { 1, 2, 3, 4, 5 }, "not a PNG or JPEG")]
    public void Other_content_is_refused_before_decoding(byte[] bytes, string expected)
    {
        var e = Assert.Throws<ImageFormatException>(() => ImageLoader.Decode(bytes, "x.img"));
        Assert.Equal("x.img", e.FileName);
        Assert.StartsWith("x.img: ", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Truncated_png_and_jpeg_are_typed_errors_naming_the_file()
    {
        byte[] png = PngWriter.Gray(28, 28, (x, y) => (byte)(x * y));
        var e = Assert.Throws<ImageFormatException>(() => ImageLoader.Decode(png[..40], "cut.png"));
        Assert.StartsWith("cut.png: PNG", e.Message);
        byte[] jpeg = File.ReadAllBytes(Fixture("dark_on_light_20x20.jpg"));
        var j = Assert.Throws<ImageFormatException>(() => ImageLoader.Decode(jpeg[..20], "cut.jpg"));
        Assert.StartsWith("cut.jpg: JPEG", j.Message);
    }

    [Fact]
    public void Corrupt_png_data_is_a_typed_error()
    {
        byte[] png = PngWriter.Gray(28, 28, (x, y) => (byte)(x * y));
        // Overwrite the compressed pixel data (after the 8-byte signature, the 25-byte IHDR chunk and IDAT's length/type).
        for (int i = 8 + 25 + 8; i < png.Length - 12; i++) png[i] = 0xFF;
        var e = Assert.Throws<ImageFormatException>(() => ImageLoader.Decode(png, "bad.png"));
        Assert.StartsWith("bad.png: PNG", e.Message);
    }

    [Fact]
    public void Huge_dimensions_are_refused_from_the_header_without_decoding()
    {
        byte[] png = PngWriter.Gray(2, 2, (_, _) => 0);
        // IHDR width/height live at bytes 16..24; claim 10000 x 5000 (5e7 pixels, within stb_image's own limits), with a
        // valid CRC, so only the size check stands between this file and a 200 MB decode.
        BinaryPrimitives.WriteInt32BigEndian(png.AsSpan(16), 10_000);
        BinaryPrimitives.WriteInt32BigEndian(png.AsSpan(20), 5_000);
        PngWriter.RewriteCrc(png, 8);
        var e = Assert.Throws<ImageFormatException>(() => ImageLoader.Decode(png, "huge.png"));
        Assert.Contains("10000x5000 pixels", e.Message);
    }

    [Fact]
    public void Missing_file_is_an_io_error_and_bad_options_are_argument_errors()
    {
        Assert.Throws<FileNotFoundException>(() => ImageLoader.Load(Path.Combine(Path.GetTempPath(), Guid.NewGuid() + ".png")));
        byte[] png = PngWriter.Gray(2, 2, (_, _) => 0);
        Assert.Throws<ArgumentOutOfRangeException>(() => ImageLoader.Decode(png, "p.png", new ImagePreprocessing(Channels: 2)));
        Assert.Throws<ArgumentOutOfRangeException>(() => ImageLoader.Decode(png, "p.png", new ImagePreprocessing(Height: 0)));
        Assert.Throws<ArgumentException>(() => ImageLoader.LoadBatch([]));
    }

    [Fact]
    public void A_bad_file_in_a_batch_is_named()
    {
        using var dir = new TempDirectory();
        string good = dir.File("good.png"), bad = dir.File("bad.png");
        File.WriteAllBytes(good, PngWriter.Gray(28, 28, (_, _) => 0));
        File.WriteAllBytes(bad, [1, 2, 3]);
        var e = Assert.Throws<ImageFormatException>(() => ImageLoader.LoadBatch([good, bad]));
        Assert.Equal(bad, e.FileName);
    }
}
