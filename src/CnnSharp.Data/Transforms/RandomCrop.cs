namespace CnnSharp.Data.Transforms;

/// <summary>
/// Pads the sample with a constant, then crops a random window of a fixed size, like torchvision's
/// <c>RandomCrop(size, padding, fill=fill, padding_mode="constant")</c>.
/// </summary>
/// <remarks>
/// With the padded image of size (Hp, Wp) and the crop (h, w): the window's top row is <c>i = random.NextInt(Hp - h + 1)</c>
/// and then its left column <c>j = random.NextInt(Wp - w + 1)</c> (torchvision's draw order); when the padded image
/// already has the crop's size, nothing is drawn and the window is the whole image. Output pixel (y, x) of channel c is
/// the padded pixel (i + y, j + x): the input pixel (i + y - top, j + x - left) when inside the input, else
/// <see cref="Fill"/>. The padding is computed, never materialised.
/// </remarks>
public sealed class RandomCrop : ITransform
{
    /// <summary>Creates a square crop of <paramref name="size"/> after padding every side by <paramref name="padding"/> (the CIFAR/Fashion-MNIST recipe: 28 with padding 2 or 4).</summary>
    /// <param name="size">Crop height and width.</param>
    /// <param name="padding">Pixels added on each side, 0 or more.</param>
    /// <param name="fill">Value of the padding pixels.</param>
    public RandomCrop(int size, int padding = 0, float fill = 0f)
        : this((size, size), (padding, padding, padding, padding), fill)
    {
    }

    /// <summary>Creates a crop of <paramref name="size"/> after padding the sides as given (torchvision's 4-value padding order: left, top, right, bottom).</summary>
    /// <param name="size">Crop height and width, each positive.</param>
    /// <param name="padding">Pixels added on each side, each 0 or more.</param>
    /// <param name="fill">Value of the padding pixels (finite).</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive, a padding is negative, or the fill is not finite.</exception>
    public RandomCrop((int Height, int Width) size, (int Left, int Top, int Right, int Bottom) padding, float fill = 0f)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(size.Height, nameof(size));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(size.Width, nameof(size));
        if (padding.Left < 0 || padding.Top < 0 || padding.Right < 0 || padding.Bottom < 0)
            throw new ArgumentOutOfRangeException(nameof(padding), padding, "RandomCrop: every padding must be 0 or more");
        if (!float.IsFinite(fill))
            throw new ArgumentOutOfRangeException(nameof(fill), fill, "RandomCrop: fill must be finite");
        Size = size;
        Padding = padding;
        Fill = fill;
    }

    /// <summary>The crop's height and width.</summary>
    public (int Height, int Width) Size { get; }

    /// <summary>Padding added before cropping: left, top, right, bottom.</summary>
    public (int Left, int Top, int Right, int Bottom) Padding { get; }

    /// <summary>Value of the padding pixels.</summary>
    public float Fill { get; }

    /// <inheritdoc/>
    public Shape OutputShape(Shape input)
    {
        var (c, h, w) = ImageShape.Chw(input, nameof(RandomCrop));
        long paddedH = (long)h + Padding.Top + Padding.Bottom, paddedW = (long)w + Padding.Left + Padding.Right;
        if (paddedH < Size.Height || paddedW < Size.Width)
            throw new ShapeException($"RandomCrop: the crop {Size.Height}x{Size.Width} is larger than the padded image {paddedH}x{paddedW} (input {input})");
        return new Shape(c, Size.Height, Size.Width);
    }

    /// <inheritdoc/>
    public void Apply(ReadOnlySpan<float> source, Shape inputShape, Span<float> destination, Generator random)
    {
        ArgumentNullException.ThrowIfNull(random);
        var output = OutputShape(inputShape);
        ImageShape.CheckSpans(source, inputShape, destination, output, nameof(RandomCrop));
        var (c, h, w) = ImageShape.Chw(inputShape, nameof(RandomCrop));
        int paddedH = h + Padding.Top + Padding.Bottom, paddedW = w + Padding.Left + Padding.Right;
        var (th, tw) = Size;
        int i = 0, j = 0;
        if (paddedH != th || paddedW != tw)
        {
            i = random.NextInt(paddedH - th + 1);
            j = random.NextInt(paddedW - tw + 1);
        }
        // The window's origin in input coordinates (may be negative: inside the padding).
        int top = i - Padding.Top, left = j - Padding.Left;
        for (int ch = 0; ch < c; ch++)
        {
            var plane = source.Slice(ch * h * w, h * w);
            for (int y = 0; y < th; y++)
            {
                var dst = destination.Slice((ch * th + y) * tw, tw);
                int sy = top + y;
                if ((uint)sy >= (uint)h)
                {
                    dst.Fill(Fill);
                    continue;
                }
                // Columns [x0, x1) of the output read input columns [left + x0, left + x1); the rest is padding.
                int x0 = Math.Clamp(-left, 0, tw), x1 = Math.Clamp(w - left, x0, tw);
                dst[..x0].Fill(Fill);
                if (x1 > x0)
                    plane.Slice(sy * w + left + x0, x1 - x0).CopyTo(dst[x0..x1]);
                dst[x1..].Fill(Fill);
            }
        }
    }
}
