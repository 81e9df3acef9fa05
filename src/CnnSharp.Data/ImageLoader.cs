using CnnSharp.IO;
using StbImageSharp;

namespace CnnSharp.Data;

/// <summary>Whether <see cref="ImageLoader"/> inverts an image (<c>x -&gt; 1 - x</c>) after decoding.</summary>
public enum ImageInversion
{
    /// <summary>Invert when the image's border is bright (mean luma above 0.5): a dark digit on light paper becomes MNIST's light digit on black.</summary>
    Auto,

    /// <summary>Never invert.</summary>
    Never,

    /// <summary>Always invert.</summary>
    Always,
}

/// <summary>How <see cref="ImageLoader"/> turns an image into a model input.</summary>
/// <param name="Channels">1 (grayscale, ITU-R BT.601 luma) or 3 (RGB).</param>
/// <param name="Height">Output height in pixels.</param>
/// <param name="Width">Output width in pixels.</param>
/// <param name="Inversion">When to invert (default: automatically, for dark-on-light images).</param>
/// <param name="KeepAspectRatio">Pad the image to a square with its border colour before resizing, so shapes are not stretched.</param>
public sealed record ImagePreprocessing(int Channels = 1, int Height = 28, int Width = 28,
    ImageInversion Inversion = ImageInversion.Auto, bool KeepAspectRatio = true)
{
    /// <summary>MNIST's format: one channel, 28x28, light on dark (the tutorial's ConvNet and LeNet-5 input).</summary>
    public static ImagePreprocessing Mnist { get; } = new();
}

/// <summary>
/// Decodes PNG and JPEG files into float tensors a model can take, with StbImageSharp (a managed port of stb_image).
/// </summary>
/// <remarks>
/// <para>Preprocessing, in order: decode to 8-bit RGBA; composite onto white (a transparent background counts as
/// paper); scale to [0, 1] (<c>x / 255</c>, as MNIST's <c>ToTensor</c>); for one channel, convert to luma
/// <c>0.299 R + 0.587 G + 0.114 B</c> (ITU-R BT.601, PIL's <c>convert("L")</c> weights); invert per
/// <see cref="ImagePreprocessing.Inversion"/> (<see cref="ImageInversion.Auto"/> looks at the mean luma of the outermost
/// pixel ring); pad to a square with the border's mean value when <see cref="ImagePreprocessing.KeepAspectRatio"/>;
/// resize to the target size, each axis separately: area averaging (exact fractional pixel coverage) when shrinking,
/// bilinear interpolation with half-pixel centres (PyTorch's <c>align_corners=False</c>) when enlarging.</para>
/// <para>Safety (hostile files): only PNG and JPEG signatures are accepted (other formats stb_image knows, such as GIF,
/// are refused before the decoder sees them); files above <see cref="MaxFileBytes"/> are refused before they are read.
/// The container is then walked by this library, not the decoder (<c>PngStructure</c>: chunk lengths, types, CRCs,
/// IHDR, a bounded inflate of the pixel data to exactly the size the header needs; <c>JpegStructure</c>: every marker
/// segment's length, one 8-bit frame, scans, enough scan data for the image, EOI), and the header's size is checked
/// against <see cref="MaxPixels"/>, all before decoding; a truncated file is refused, not decoded with made-up pixels.
/// The decoder reads from a stream that cannot seek backwards or past its end, nor be read at its end more than a
/// few times, so no input can make it loop. Work and memory are proportional to the image's pixels (the pad to a
/// square is computed, never materialised). Every failure of a file's bytes is an <see cref="ImageFormatException"/>
/// naming the file; a missing path or a directory is a <see cref="FileNotFoundException"/> or <see cref="IOException"/> saying so.
/// See docs/interop.md, "Image decoding limits".</para>
/// </remarks>
public static class ImageLoader
{
    /// <summary>The largest image accepted, in pixels (width times height): 40 megapixels.</summary>
    public const long MaxPixels = 40_000_000;

    /// <summary>The largest file accepted, in bytes (64 MiB).</summary>
    public const long MaxFileBytes = 64L << 20;

    private static readonly byte[] s_png = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>Loads one image as a (C, H, W) tensor.</summary>
    /// <param name="path">A PNG or JPEG file.</param>
    /// <param name="options">The target format; null means <see cref="ImagePreprocessing.Mnist"/>.</param>
    /// <exception cref="ImageFormatException">The file is not a usable PNG/JPEG (message names it).</exception>
    /// <exception cref="FileNotFoundException">There is no file at <paramref name="path"/>: "x: file not found".</exception>
    /// <exception cref="IOException">The file cannot be read, or <paramref name="path"/> is a directory: "x is a directory, expected a file".</exception>
    /// <exception cref="UnauthorizedAccessException">The file exists but may not be read.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The options ask for other than 1 or 3 channels or a non-positive size.</exception>
    public static Tensor Load(string path, ImagePreprocessing? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var o = Validate(options);
        // InputFile names a directory as one (the OS says only "access denied") and a missing file as not found.
        byte[] bytes;
        using (var stream = InputFile.OpenRead(path))
        {
            long length = stream.Length;
            if (length > MaxFileBytes)
                throw new ImageFormatException(path, $"file is {length} bytes, above the {MaxFileBytes}-byte limit for images");
            bytes = new byte[length];
            stream.ReadExactly(bytes);
        }
        return DecodeValidated(bytes, path, o);
    }

    /// <summary>Loads several images as one (N, C, H, W) batch, in the given order.</summary>
    /// <exception cref="ImageFormatException">A file is not a usable PNG/JPEG (message names it).</exception>
    /// <exception cref="IOException">A file cannot be read.</exception>
    /// <exception cref="ArgumentException">No paths are given.</exception>
    public static Tensor LoadBatch(IReadOnlyList<string> paths, ImagePreprocessing? options = null)
    {
        ArgumentNullException.ThrowIfNull(paths);
        if (paths.Count == 0) throw new ArgumentException("ImageLoader.LoadBatch: no image paths given", nameof(paths));
        var o = Validate(options);
        int size = o.Channels * o.Height * o.Width;
        var data = new float[checked(paths.Count * size)];
        for (int i = 0; i < paths.Count; i++) Load(paths[i], o).Data.CopyTo(data.AsSpan(i * size, size));
        return new Tensor(data, new Shape(paths.Count, o.Channels, o.Height, o.Width));
    }

    /// <summary>Decodes PNG or JPEG bytes as a (C, H, W) tensor.</summary>
    /// <remarks>Safe for any bytes (the fuzz harness's entry point): it returns, in time and memory proportional to the
    /// header's pixel count and bounded by <see cref="MaxPixels"/>, or throws one of the exceptions below; it never hangs.</remarks>
    /// <param name="bytes">The whole file content.</param>
    /// <param name="sourceName">Name used in error messages.</param>
    /// <param name="options">The target format; null means <see cref="ImagePreprocessing.Mnist"/>.</param>
    /// <exception cref="ImageFormatException">The bytes are not a usable PNG/JPEG.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The options ask for other than 1 or 3 channels or a non-positive size.</exception>
    public static Tensor Decode(byte[] bytes, string sourceName = "<memory>", ImagePreprocessing? options = null)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        ArgumentNullException.ThrowIfNull(sourceName);
        return DecodeValidated(bytes, sourceName, Validate(options));
    }

    private static ImagePreprocessing Validate(ImagePreprocessing? options)
    {
        var o = options ?? ImagePreprocessing.Mnist;
        if (o.Channels is not (1 or 3)) throw new ArgumentOutOfRangeException(nameof(options), o.Channels, "ImageLoader: Channels must be 1 or 3");
        if (o.Height <= 0 || o.Width <= 0) throw new ArgumentOutOfRangeException(nameof(options), $"ImageLoader: target size {o.Height}x{o.Width} must be positive");
        if (!Enum.IsDefined(o.Inversion)) throw new ArgumentOutOfRangeException(nameof(options), o.Inversion, "ImageLoader: unknown inversion mode");
        return o;
    }

    private static Tensor DecodeValidated(byte[] bytes, string source, ImagePreprocessing o)
    {
        var (rgba, width, height) = DecodeRgba(bytes, source);
        int pixels = width * height;  // at most MaxPixels: checked from the header before decoding
        int planes = o.Channels;
        var values = new float[planes][];
        var luma = new float[pixels];
        for (int c = 0; c < planes; c++) values[c] = new float[pixels];
        for (int p = 0; p < pixels; p++)
        {
            // Composite onto white, then scale to [0, 1].
            int a = rgba[4 * p + 3];
            float r = Composite(rgba[4 * p], a), g = Composite(rgba[4 * p + 1], a), b = Composite(rgba[4 * p + 2], a);
            // Gray pixels keep their exact value (x / 255, as MNIST's ToTensor gives), not a rounding of the weighted sum.
            luma[p] = r == g && g == b ? r : (float)(0.299 * r + 0.587 * g + 0.114 * b);
            if (planes == 1)
            {
                values[0][p] = luma[p];
            }
            else
            {
                values[0][p] = r;
                values[1][p] = g;
                values[2][p] = b;
            }
        }

        bool invert = o.Inversion == ImageInversion.Always || (o.Inversion == ImageInversion.Auto && BorderMean(luma, width, height) > 0.5);
        if (invert)
            foreach (var plane in values)
                for (int p = 0; p < pixels; p++) plane[p] = 1f - plane[p];

        // The pad to a square is never materialised: a 100000x1 image would need a 10^10-pixel square. The resize
        // weights are computed on the padded axes, and the padded pixels' share of each output (all of one value, the
        // border's mean) is one weight, so the work and memory stay proportional to the image's own pixels.
        bool pad = o.KeepAspectRatio && width != height;
        int side = Math.Max(width, height);
        var columns = AxisWeights(width, pad ? side : width, o.Width);
        var rows = AxisWeights(height, pad ? side : height, o.Height);
        var output = new float[planes * o.Height * o.Width];
        var temp = new float[height * o.Width];
        for (int c = 0; c < planes; c++)
        {
            var src = values[c];
            double fill = pad ? BorderMean(src, width, height) : 0;
            for (int y = 0; y < height; y++)
                for (int x = 0; x < o.Width; x++)
                {
                    double sum = fill * columns[x].Padding;
                    foreach (var (i, w) in columns[x].Taps) sum += w * src[y * width + i];
                    temp[y * o.Width + x] = (float)sum;
                }
            var dst = output.AsSpan(c * o.Height * o.Width, o.Height * o.Width);
            for (int y = 0; y < o.Height; y++)
                for (int x = 0; x < o.Width; x++)
                {
                    double sum = fill * rows[y].Padding;
                    foreach (var (i, w) in rows[y].Taps) sum += w * temp[i * o.Width + x];
                    dst[y * o.Width + x] = (float)sum;
                }
        }
        return new Tensor(output, new Shape(planes, o.Height, o.Width));
    }

    /// <summary>Refuses a size from a header before anything is allocated for it.</summary>
    /// <exception cref="ImageFormatException">Width or height is zero, or the image has more than <see cref="MaxPixels"/> pixels.</exception>
    internal static void CheckDimensions(string source, string kind, long width, long height)
    {
        if (width <= 0 || height <= 0 || width * height > MaxPixels)
            throw new ImageFormatException(source, $"{kind} is {width}x{height} pixels; images must be non-empty and at most {MaxPixels} pixels");
    }

    private static (byte[] Rgba, int Width, int Height) DecodeRgba(byte[] bytes, string source)
    {
        bool png = bytes.AsSpan().StartsWith(s_png);
        bool jpeg = bytes.Length >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF;
        if (!png && !jpeg)
        {
            string head = bytes.Length == 0 ? "the file is empty" : "starts with " + Convert.ToHexString(bytes.AsSpan(0, Math.Min(4, bytes.Length))).ToLowerInvariant();
            throw new ImageFormatException(source, $"not a PNG or JPEG file ({head})");
        }
        string kind = png ? "PNG" : "JPEG";

        // Our own walk of the container first (StbImageSharp's ImageInfo is never called: its header probe loops on a
        // bad segment length), then the decode on a stream that cannot seek backwards or be read past its end for long.
        var (width, height) = png ? PngStructure.Validate(bytes, source) : JpegStructure.Validate(bytes, source);
        ImageResult result;
        try
        {
            result = ImageResult.FromStream(new GuardedImageStream(bytes), ColorComponents.RedGreenBlueAlpha);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new ImageFormatException(source, $"{kind} data is corrupt or truncated: {e.Message}", e);
        }
        if (result is null || result.Width != width || result.Height != height
            || result.Data is null || result.Data.Length != (long)result.Width * result.Height * 4)
            throw new ImageFormatException(source, $"{kind} decoding produced no usable pixels (corrupt or truncated)");
        return (result.Data, result.Width, result.Height);
    }

    private static float Composite(int value, int alpha) => (value * alpha + 255 * (255 - alpha)) / (255f * 255f);

    private static double BorderMean(float[] luma, int width, int height)
    {
        double sum = 0;
        int count = 0;
        for (int y = 0; y < height; y++)
        {
            bool edgeRow = y == 0 || y == height - 1;
            for (int x = 0; x < width; x++)
            {
                if (!edgeRow && x != 0 && x != width - 1) continue;
                sum += luma[y * width + x];
                count++;
            }
        }
        return sum / count;
    }

    /// <summary>
    /// For each output index, the image's input indices and weights that make it (area when shrinking, bilinear when
    /// enlarging), computed on an axis of <paramref name="padded"/> pixels with the image's <paramref name="length"/>
    /// centred in it, and the total weight that falls on the padding.
    /// </summary>
    private static ((int Index, double Weight)[] Taps, double Padding)[] AxisWeights(int length, int padded, int output)
    {
        int lead = (padded - length) / 2;
        var weights = new ((int, double)[], double)[output];
        double scale = (double)padded / output;
        var taps = new List<(int, double)>();
        for (int o = 0; o < output; o++)
        {
            taps.Clear();
            double padding = 0;
            if (padded > output)
            {
                double start = o * scale, end = (o + 1) * scale;
                // The padding's share in closed form: no loop over a thin image's long padded axis.
                padding = (Overlap(start, end, 0, lead) + Overlap(start, end, lead + length, padded)) / scale;
                for (int i = Math.Max((int)Math.Floor(start), lead); i < Math.Min((int)Math.Ceiling(end), lead + length); i++)
                {
                    double overlap = Overlap(start, end, i, i + 1);
                    if (overlap > 0) taps.Add((i - lead, overlap / scale));
                }
            }
            else if (padded == output)
            {
                Add(o, 1.0);
            }
            else
            {
                double src = Math.Clamp((o + 0.5) * scale - 0.5, 0, padded - 1);
                int i0 = (int)Math.Floor(src);
                int i1 = Math.Min(i0 + 1, padded - 1);
                double t = src - i0;
                if (i1 == i0)
                {
                    Add(i0, 1.0);
                }
                else
                {
                    Add(i0, 1 - t);
                    Add(i1, t);
                }
            }
            weights[o] = ([.. taps], padding);

            void Add(int i, double w)
            {
                if (i >= lead && i < lead + length) taps.Add((i - lead, w));
                else padding += w;
            }
        }
        return weights;
    }

    private static double Overlap(double start, double end, double from, double to) => Math.Max(0, Math.Min(end, to) - Math.Max(start, from));
}
