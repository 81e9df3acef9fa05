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
    /// <summary>MNIST's format: one channel, 28x28, light on dark (the seed's ConvNet and LeNet-5 input).</summary>
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
/// <para>Safety: only PNG and JPEG signatures are accepted (other formats stb_image knows, such as GIF, are refused
/// before the decoder sees them); the header's width and height are checked against <see cref="MaxPixels"/> before
/// decoding, and files above <see cref="MaxFileBytes"/> are refused before they are read; every decoder failure becomes
/// an <see cref="ImageFormatException"/> naming the file.</para>
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
    /// <exception cref="IOException">The file cannot be read.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The options ask for other than 1 or 3 channels or a non-positive size.</exception>
    public static Tensor Load(string path, ImagePreprocessing? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var o = Validate(options);
        long length = new FileInfo(path).Length;
        if (length > MaxFileBytes)
            throw new ImageFormatException(path, $"file is {length} bytes, above the {MaxFileBytes}-byte limit for images");
        return DecodeValidated(File.ReadAllBytes(path), path, o);
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
        int pixels = width * height;
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

        int srcW = width, srcH = height;
        if (o.KeepAspectRatio && width != height)
        {
            int side = Math.Max(width, height);
            for (int c = 0; c < planes; c++) values[c] = PadToSquare(values[c], width, height, side);
            srcW = srcH = side;
        }

        var output = new float[planes * o.Height * o.Width];
        var columns = AxisWeights(srcW, o.Width);
        var rows = AxisWeights(srcH, o.Height);
        var temp = new float[srcH * o.Width];
        for (int c = 0; c < planes; c++)
        {
            var src = values[c];
            for (int y = 0; y < srcH; y++)
                for (int x = 0; x < o.Width; x++)
                {
                    double sum = 0;
                    foreach (var (i, w) in columns[x]) sum += w * src[y * srcW + i];
                    temp[y * o.Width + x] = (float)sum;
                }
            var dst = output.AsSpan(c * o.Height * o.Width, o.Height * o.Width);
            for (int y = 0; y < o.Height; y++)
                for (int x = 0; x < o.Width; x++)
                {
                    double sum = 0;
                    foreach (var (i, w) in rows[y]) sum += w * temp[i * o.Width + x];
                    dst[y * o.Width + x] = (float)sum;
                }
        }
        return new Tensor(output, new Shape(planes, o.Height, o.Width));
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

        ImageInfo? info;
        try
        {
            using var stream = new MemoryStream(bytes, writable: false);
            info = ImageInfo.FromStream(stream);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new ImageFormatException(source, $"{kind} header is unreadable: {e.Message}", e);
        }
        if (info is not ImageInfo header)
            throw new ImageFormatException(source, $"{kind} header is unreadable (corrupt or truncated)");
        if (header.Width <= 0 || header.Height <= 0 || (long)header.Width * header.Height > MaxPixels)
            throw new ImageFormatException(source, $"{kind} is {header.Width}x{header.Height} pixels; images must be non-empty and at most {MaxPixels} pixels");

        ImageResult result;
        try
        {
            result = ImageResult.FromMemory(bytes, ColorComponents.RedGreenBlueAlpha);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new ImageFormatException(source, $"{kind} data is corrupt or truncated: {e.Message}", e);
        }
        if (result is null || result.Width != header.Width || result.Height != header.Height
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

    private static float[] PadToSquare(float[] plane, int width, int height, int side)
    {
        var result = new float[side * side];
        Array.Fill(result, (float)BorderMean(plane, width, height));
        int top = (side - height) / 2, left = (side - width) / 2;
        for (int y = 0; y < height; y++)
            plane.AsSpan(y * width, width).CopyTo(result.AsSpan((top + y) * side + left, width));
        return result;
    }

    /// <summary>For each output index, the input indices and weights that make it (area when shrinking, bilinear when enlarging).</summary>
    private static (int Index, double Weight)[][] AxisWeights(int input, int output)
    {
        var weights = new (int, double)[output][];
        if (input == output)
        {
            for (int o = 0; o < output; o++) weights[o] = [(o, 1.0)];
            return weights;
        }
        double scale = (double)input / output;
        for (int o = 0; o < output; o++)
        {
            if (input > output)
            {
                double start = o * scale, end = (o + 1) * scale;
                var taps = new List<(int, double)>();
                for (int i = (int)Math.Floor(start); i < Math.Min(input, (int)Math.Ceiling(end)); i++)
                {
                    double overlap = Math.Min(end, i + 1) - Math.Max(start, i);
                    if (overlap > 0) taps.Add((i, overlap / scale));
                }
                weights[o] = [.. taps];
            }
            else
            {
                double src = Math.Clamp((o + 0.5) * scale - 0.5, 0, input - 1);
                int i0 = (int)Math.Floor(src);
                int i1 = Math.Min(i0 + 1, input - 1);
                double t = src - i0;
                weights[o] = i1 == i0 ? [(i0, 1.0)] : [(i0, 1 - t), (i1, t)];
            }
        }
        return weights;
    }
}
