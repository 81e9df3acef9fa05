using System.Buffers.Binary;
using System.IO.Compression;
using CnnSharp.Data;
using CnnSharp.Tests.TestUtilities;
using static CnnSharp.Tests.Data.ImageLoaderHostileTests;

namespace CnnSharp.Tests.Data;

/// <summary>
/// <see cref="ImageLoader"/>'s limits: thin images, truncation, chunk lengths, every one-byte mutation of valid files,
/// the decoder's guarded stream, printable messages.
/// </summary>
public sealed class ImageLoaderLimitsTests
{
    private static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "images", name);

    /// <summary>Decodes on a pool thread within the time limit; returns the tensor and the bytes that thread allocated.</summary>
    private static (Tensor Image, long Allocated) Measured(byte[] bytes, string name) => WithinTimeLimit(() =>
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        var image = ImageLoader.Decode(bytes, name);
        return (image, GC.GetAllocatedBytesForCurrentThread() - before);
    }, name);

    [Theory]
    [InlineData("png_50000x1.png", 50_000)]
    [InlineData("png_100000x1.png", 100_000)]
    public void A_one_pixel_high_png_is_padded_without_materialising_the_square(string name, int width)
    {
        // Before: side * side overflowed (50000) or a 10^10-float square was attempted (100000).
        var (t, allocated) = Measured(File.ReadAllBytes(Fixture(Path.Combine("thin", name))), name);
        TensorAssert.ShapeIs(t, 1, 28, 28);
        Assert.True(allocated < 64L << 20, $"allocated {allocated} bytes for a {width}x1 image");

        // The row holds 200 from x = 20000 to 30000 and 0 elsewhere; the padding is the border's (the whole row's) mean.
        double fill = 10_000 * 200 / 255.0 / width;
        int row = (width - 1) / 2 * 28 / width;  // the output row that covers the image's row in the padded square
        for (int y = 0; y < 28; y++)
            for (int x = 0; x < 28; x++)
                if (y != row) Assert.Equal(fill, t.Data[y * 28 + x], 5);
        Assert.True(t.Data[row * 28] < fill, "left end of the row is black");
        Assert.True(t.Data[row * 28 + 25_000 * 28 / width] > fill, "the bright part of the row shows");
    }

    [Fact]
    public void A_tall_thin_jpeg_decodes_with_memory_proportional_to_its_pixels()
    {
        // 200 x 18948, black with a white block at x 50..149, y 9000..9999: 1.5 GB before (the 18948^2 square).
        var (t, allocated) = Measured(File.ReadAllBytes(Fixture(Path.Combine("thin", "jpeg_200x18948.jpg"))), "thin.jpg");
        Assert.True(allocated < 200L << 20, $"allocated {allocated} bytes for a 200x18948 image");
        // In the 18948-square, output rows and columns 13 and 14 (677 pixels each) cover the block; the rest is black
        // (8 / 255 after quality-5 coding), the block adding about 0.05 where it covers 7% of a cell's columns.
        for (int y = 0; y < 28; y++)
            for (int x = 0; x < 28; x++)
            {
                if (y is 13 or 14 && x is 13 or 14) Assert.True(t.Data[y * 28 + x] > 0.06f, $"block shows at ({y}, {x}): {t.Data[y * 28 + x]}");
                else Assert.True(t.Data[y * 28 + x] < 0.045f, $"black at ({y}, {x}): {t.Data[y * 28 + x]}");
            }
        Assert.All(t.ToArray(), v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void Size_limit_counts_width_times_height_without_overflow()
    {
        // 65535 x 65535 claimed in a JPEG frame header: 4.3e9 pixels, refused from the header.
        byte[] jpeg = File.ReadAllBytes(Fixture("light_on_dark_16x12.jpg"));
        int sof = jpeg.AsSpan().IndexOf([(byte)0xFF, (byte)0xC0]);
        BinaryPrimitives.WriteUInt16BigEndian(jpeg.AsSpan(sof + 5), 65535);
        BinaryPrimitives.WriteUInt16BigEndian(jpeg.AsSpan(sof + 7), 65535);
        var e = Assert.Throws<ImageFormatException>(() => ImageLoader.Decode(jpeg, "big.jpg"));
        Assert.Contains("65535x65535 pixels", e.Message);
    }

    [Fact]
    public void A_jpeg_cut_anywhere_is_refused_as_truncated()
    {
        // Before: a JPEG cut inside its scan data decoded "successfully", the missing part filled with gray.
        byte[] jpeg = File.ReadAllBytes(Fixture("colour_square_64x48.jpg"));
        for (int length = 4; length < jpeg.Length - 1; length++)
        {
            var e = Assert.Throws<ImageFormatException>(() => ImageLoader.Decode(jpeg[..length], "cut.jpg"));
            Assert.StartsWith("cut.jpg: JPEG", e.Message);
        }
        byte[] thin = File.ReadAllBytes(Fixture(Path.Combine("thin", "jpeg_200x18948.jpg")));
        var cut = Assert.Throws<ImageFormatException>(() => ImageLoader.Decode(thin[..(thin.Length * 8 / 100)], "thin.jpg"));
        Assert.Contains("truncated", cut.Message);
    }

    [Fact]
    public void A_small_jpeg_claiming_a_large_frame_is_refused_for_too_little_scan_data()
    {
        var e = Assert.Throws<ImageFormatException>(() => ImageLoader.Decode(File.ReadAllBytes(Fixture(Path.Combine("hostile", "jpeg_sof_200x18948.jpg"))), "claim.jpg"));
        Assert.Contains("too few for the 59225 blocks of a 200x18948 image", e.Message);
    }

    [Fact]
    public void A_progressive_jpeg_needs_a_dc_scan_with_a_bit_per_block_before_its_ac_scans()
    {
        byte[] jpeg = File.ReadAllBytes(Fixture("colour_square_64x48_progressive_restart.jpg"));
        int sof = jpeg.AsSpan().IndexOf([(byte)0xFF, (byte)0xC2]), sos = jpeg.AsSpan().IndexOf([(byte)0xFF, (byte)0xDA]);

        // The frame header claims 6000x6000 (36 megapixels, within the limit): the first (DC) scan is far too short.
        byte[] claim = (byte[])jpeg.Clone();
        BinaryPrimitives.WriteUInt16BigEndian(claim.AsSpan(sof + 5), 6000);
        BinaryPrimitives.WriteUInt16BigEndian(claim.AsSpan(sof + 7), 6000);
        Assert.Contains("too few for the", Assert.Throws<ImageFormatException>(() => ImageLoader.Decode(claim, "claim.jpg")).Message);

        // The first scan's spectral selection made to start at 1: an AC scan before any DC scan.
        byte[] ac = (byte[])jpeg.Clone();
        ac[sos + 5 + 2 * ac[sos + 4]] = 1;
        Assert.Contains("before its components' DC scan", Assert.Throws<ImageFormatException>(() => ImageLoader.Decode(ac, "ac.jpg")).Message);
    }

    [Fact]
    public void Progressive_jpeg_with_restart_markers_decodes_as_the_baseline_one()
    {
        var options = new ImagePreprocessing(3, 48, 64, ImageInversion.Never, KeepAspectRatio: false);
        var baseline = ImageLoader.Load(Fixture("colour_square_64x48.jpg"), options);
        var progressive = ImageLoader.Load(Fixture("colour_square_64x48_progressive_restart.jpg"), options);
        Assert.Equal(baseline.ToArray(), progressive.ToArray(), (a, b) => Math.Abs(a - b) < 0.03f);
        Assert.True(baseline.Data[0] > 0.9f, "paper (240, 235, 225) at the corner");
    }

    [Fact]
    public void Png_chunk_lengths_are_checked_before_decoding()
    {
        // Before: an IDAT claiming 0x7FFFFFF0 bytes made the decoder reserve up to 2 GB.
        var e = Assert.Throws<ImageFormatException>(() => ImageLoader.Decode(File.ReadAllBytes(Fixture(Path.Combine("hostile", "png_idat_length_2gb.png"))), "big.png"));
        Assert.Contains("chunk IDAT at offset 33 claims 2147483632 bytes", e.Message);

        byte[] png = PngWriter.Gray(4, 4, (x, y) => (byte)(x * y));
        png[^1] ^= 1;  // IEND's CRC
        Assert.Contains("IEND at offset", Assert.Throws<ImageFormatException>(() => ImageLoader.Decode(png, "crc.png")).Message);
    }

    [Fact]
    public void Png_pixel_data_that_inflates_beyond_the_header_size_is_refused_after_that_many_bytes()
    {
        // A 1x1 image whose IDAT inflates to 8 MB of zeros (8 KB compressed).
        byte[] png = PngWriter.Gray(1, 1, (_, _) => 0);
        int idat = 8 + 25;
        using var bomb = new MemoryStream();
        using (var z = new ZLibStream(bomb, CompressionLevel.Optimal, leaveOpen: true)) z.Write(new byte[8 << 20]);
        byte[] payload = bomb.ToArray();
        int oldLength = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(idat));
        var patched = new byte[png.Length - oldLength + payload.Length];
        png.AsSpan(0, idat).CopyTo(patched);
        BinaryPrimitives.WriteInt32BigEndian(patched.AsSpan(idat), payload.Length);
        "IDAT"u8.CopyTo(patched.AsSpan(idat + 4));
        payload.CopyTo(patched, idat + 8);
        png.AsSpan(idat + 12 + oldLength).CopyTo(patched.AsSpan(idat + 12 + payload.Length));
        PngWriter.RewriteCrc(patched, idat);

        var (e, allocated) = WithinTimeLimit(() =>
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            var error = Assert.Throws<ImageFormatException>(() => ImageLoader.Decode(patched, "bomb.png"));
            return (error, GC.GetAllocatedBytesForCurrentThread() - before);
        }, "bomb.png");
        Assert.Contains("inflates to more than the 2 bytes", e.Message);
        Assert.True(allocated < 4L << 20, $"allocated {allocated} bytes");

        byte[] shortData = PngWriter.Gray(8, 8, (x, _) => (byte)x);
        int length = BinaryPrimitives.ReadInt32BigEndian(shortData.AsSpan(idat));
        Assert.Contains("PNG", Assert.Throws<ImageFormatException>(() => ImageLoader.Decode(shortData[..(idat + 8 + length / 2)], "cut.png")).Message);
    }

    public static TheoryData<string> MutatedFiles() => ["dark_on_light_20x20.jpg", "colour_square_64x48_progressive_restart.jpg", "png"];

    [Theory]
    [MemberData(nameof(MutatedFiles))]
    public void Every_one_byte_change_decodes_or_is_an_image_format_exception(string name)
    {
        byte[] original = name == "png"
            ? PngWriter.Encode(6, 5, 3, [.. Enumerable.Range(0, 90).Select(i => (byte)(i * 37))])
            : File.ReadAllBytes(Fixture(name));
        int decoded = 0;
        WithinTimeLimit(() =>
        {
            foreach (byte value in new byte[] { 0x00, 0xFF })
                for (int i = 0; i < original.Length; i++)
                {
                    byte[] mutated = (byte[])original.Clone();
                    mutated[i] = value;
                    try
                    {
                        var t = ImageLoader.Decode(mutated, "m");
                        Assert.All(t.ToArray(), v => Assert.True(v is >= 0f and <= 1f, $"byte {i} = {value}: value {v}"));
                        decoded++;
                    }
                    catch (ImageFormatException e)
                    {
                        Assert.DoesNotContain('\0', e.Message);
                    }
                }
            return 0;
        }, name, TimeSpan.FromSeconds(60));
        Assert.True(decoded > 0, "the mutations that keep the file valid still decode");
    }

    [Fact]
    public void The_decoder_stream_refuses_backward_seeks_seeks_past_the_end_and_endless_reads()
    {
        var s = new GuardedImageStream(new byte[10]);
        s.Seek(4, SeekOrigin.Current);
        Assert.Throws<InvalidDataException>(() => s.Seek(-2, SeekOrigin.Current));
        Assert.Throws<InvalidDataException>(() => s.Seek(11, SeekOrigin.Begin));
        s.Seek(10, SeekOrigin.Begin);
        for (int i = 0; i < GuardedImageStream.MaxReadsPastEnd; i++) Assert.Equal(-1, s.ReadByte());
        Assert.Throws<InvalidDataException>(() => s.ReadByte());

        var r = new GuardedImageStream(new byte[10]);
        for (int i = 0; i < GuardedImageStream.MaxRewinds; i++)
        {
            r.ReadByte();
            r.Seek(0, SeekOrigin.Begin);
        }
        r.ReadByte();
        Assert.Throws<InvalidDataException>(() => r.Seek(0, SeekOrigin.Begin));
    }

    [Fact]
    public void Messages_are_one_printable_line()
    {
        // Before: a decoder's message could carry NUL bytes into the terminal.
        var e = new ImageFormatException("a\nb.png", "bad\0byte");
        Assert.Equal("a\\x0ab.png: bad\\x00byte", e.Message);
        Assert.Equal("a\nb.png", e.FileName);
        Assert.DoesNotContain('\0', new ImageFormatException("x\0").Message);
    }

    [Fact]
    public void A_directory_is_named_as_one()
    {
        // Before: "Access to the path is denied" from the OS, with or without a trailing separator.
        using var dir = new TempDirectory();
        foreach (string path in new[] { dir.Path, dir.Path + Path.DirectorySeparatorChar })
        {
            var e = Assert.Throws<IOException>(() => ImageLoader.Load(path));
            Assert.Equal($"{path} is a directory, expected a file", e.Message);
        }
    }
}
