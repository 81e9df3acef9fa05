using CnnSharp.Data.Transforms;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Data.Transforms;

/// <summary>Exact outputs of each transform on small hand-computed inputs, and their argument checks.</summary>
public sealed class TransformTests
{
    private static float[] Run(ITransform t, float[] input, Shape shape, ulong seed = 1)
    {
        var output = new float[t.OutputShape(shape).Numel];
        t.Apply(input, shape, output, new Generator(seed));
        return output;
    }

    [Fact]
    public void Normalize_subtracts_the_mean_and_divides_by_the_std_per_channel_in_float32()
    {
        float[] input = [0f, 0.25f, 0.5f, 1f, 0.1f, 0.2f, 0.3f, 0.7f];
        var output = Run(new Normalize([0.5f, 0.1307f], [0.5f, 0.3081f]), input, new Shape(2, 2, 2));
        float[] expected =
        [
            -1f, -0.5f, 0f, 1f,
            (0.1f - 0.1307f) / 0.3081f, (0.2f - 0.1307f) / 0.3081f, (0.3f - 0.1307f) / 0.3081f, (0.7f - 0.1307f) / 0.3081f,
        ];
        Assert.Equal(expected, output);
        // One value broadcasts to every channel.
        Assert.Equal([-1f, -0.5f, 0f, 1f, -0.8f, -0.6f, -0.4f, 0.4f],
            Run(new Normalize([0.5f], [0.5f]), input, new Shape(2, 2, 2)), new FloatTolerance(1e-7f));
    }

    [Fact]
    public void Normalize_refuses_bad_parameters_and_shapes()
    {
        Assert.Throws<ArgumentException>(() => new Normalize([0.5f], [0f]));
        Assert.Throws<ArgumentException>(() => new Normalize([float.NaN], [1f]));
        Assert.Throws<ArgumentException>(() => new Normalize([], [1f]));
        var ex = Assert.Throws<ShapeException>(() => new Normalize([0.1f, 0.2f], [1f, 1f]).OutputShape(new Shape(3, 4, 4)));
        Assert.Contains("mean has 2 values, the sample has 3 channels", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ShapeException>(() => new Normalize([0f], [1f]).OutputShape(new Shape(16)));
    }

    [Fact]
    public void RandomHorizontalFlip_reverses_each_row_when_the_draw_is_below_p()
    {
        float[] input = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
        var shape = new Shape(2, 2, 3);
        Assert.Equal([3, 2, 1, 6, 5, 4, 9, 8, 7, 12, 11, 10], Run(new RandomHorizontalFlip(1f), input, shape));
        Assert.Equal(input, Run(new RandomHorizontalFlip(0f), input, shape));
        int flipped = 0;
        for (ulong seed = 0; seed < 64; seed++)
        {
            bool expectFlip = new Generator(seed).NextFloat() < 0.5f;
            var output = Run(new RandomHorizontalFlip(), input, shape, seed);
            Assert.Equal(expectFlip ? 3f : 1f, output[0]);
            if (expectFlip) flipped++;
        }
        Assert.InRange(flipped, 16, 48); // both outcomes occur
        Assert.Throws<ArgumentOutOfRangeException>(() => new RandomHorizontalFlip(1.5f));
    }

    [Fact]
    public void RandomCrop_takes_the_window_at_the_drawn_offsets_of_the_padded_image()
    {
        // 1x2x2 image padded by 1 with fill 9: the padded 4x4 image, written out by hand.
        float[] padded =
        [
            9, 9, 9, 9,
            9, 1, 2, 9,
            9, 3, 4, 9,
            9, 9, 9, 9,
        ];
        var crop = new RandomCrop(2, padding: 1, fill: 9);
        var seen = new HashSet<(int, int)>();
        for (ulong seed = 0; seed < 40; seed++)
        {
            var twin = new Generator(seed);
            int i = twin.NextInt(3), j = twin.NextInt(3); // top row first, then left column (torchvision's order)
            seen.Add((i, j));
            float[] expected = [padded[i * 4 + j], padded[i * 4 + j + 1], padded[(i + 1) * 4 + j], padded[(i + 1) * 4 + j + 1]];
            Assert.Equal(expected, Run(crop, [1, 2, 3, 4], new Shape(1, 2, 2), seed));
        }
        Assert.True(seen.Count >= 8, "the offsets cover the padded image");
    }

    [Fact]
    public void RandomCrop_with_asymmetric_padding_and_channels()
    {
        // 2x2x3 input, padding left 2, top 0, right 0, bottom 1: padded 3x5; crop 3x5 draws nothing and shows it all.
        float[] input = [1, 2, 3, 4, 5, 6, 10, 20, 30, 40, 50, 60];
        var crop = new RandomCrop((3, 5), (2, 0, 0, 1), fill: -1);
        float[] expected =
        [
            -1, -1, 1, 2, 3,
            -1, -1, 4, 5, 6,
            -1, -1, -1, -1, -1,
            -1, -1, 10, 20, 30,
            -1, -1, 40, 50, 60,
            -1, -1, -1, -1, -1,
        ];
        var random = new Generator(5);
        var output = new float[30];
        crop.Apply(input, new Shape(2, 2, 3), output, random);
        Assert.Equal(expected, output);
        Assert.Equal(new Generator(5).NextUInt32(), random.NextUInt32()); // no draw when the window is the whole image
        var ex = Assert.Throws<ShapeException>(() => new RandomCrop(5).OutputShape(new Shape(1, 4, 4)));
        Assert.Contains("larger than the padded image 4x4", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RandomCrop_window_entirely_in_the_padding_is_all_fill()
    {
        var crop = new RandomCrop((1, 1), (0, 0, 3, 0), fill: 7);
        // Padded 1x5 ([1, 2, 0p, 0p, 0p]); every offset j in 0..4 maps to the input or the fill.
        for (ulong seed = 0; seed < 20; seed++)
        {
            var twin = new Generator(seed);
            twin.NextInt(1);
            int j = twin.NextInt(5);
            Assert.Equal(j < 2 ? j + 1 : 7f, Run(crop, [1, 2], new Shape(1, 1, 2), seed)[0]);
        }
    }

    [Fact]
    public void RandomAffine_rotation_by_90_degrees_turns_clockwise_with_nearest()
    {
        float[] input = [1, 2, 3, 4, 5, 6, 7, 8, 9];
        var output = new float[9];
        RandomAffine.Warp(input, 1, 3, 3, output, 90, 0, 0, 1, Interpolation.Nearest, 0);
        Assert.Equal([7, 4, 1, 8, 5, 2, 9, 6, 3], output);
    }

    [Fact]
    public void RandomAffine_translation_shifts_content_and_fills_the_gap()
    {
        float[] input = [1, 2, 3, 4, 5, 6];
        var output = new float[6];
        RandomAffine.Warp(input, 1, 2, 3, output, 0, 1, 0, 1, Interpolation.Nearest, -5);
        Assert.Equal([-5, 1, 2, -5, 4, 5], output);
        RandomAffine.Warp(input, 1, 2, 3, output, 0, -1, 1, 1, Interpolation.Bilinear, 0);
        Assert.Equal([0, 0, 0, 2, 3, 0], output);
    }

    [Fact]
    public void RandomAffine_bilinear_zoom_in_interpolates_the_four_neighbours()
    {
        // Scale 2 about the centre (0.5, 0.5): output pixel x samples u = (x - 0.5) / 2 + 0.5 = 0.25 or 0.75.
        var output = new float[4];
        RandomAffine.Warp([1, 2, 3, 4], 1, 2, 2, output, 0, 0, 0, 2, Interpolation.Bilinear, 0);
        Assert.Equal([1.75f, 2.25f, 2.75f, 3.25f], output);
    }

    [Fact]
    public void RandomAffine_bilinear_border_mixes_fill_by_the_in_image_weight_as_torchvision()
    {
        // Scale 0.5: corners sample (-0.5, -0.5) etc.; one neighbour of weight 0.25 is inside, so the mask m = 0.25
        // and the output is (0.25 x) m + (1 - m) fill = 0.0625 x + 0.75 with fill 1.
        var output = new float[4];
        RandomAffine.Warp([1, 2, 3, 4], 1, 2, 2, output, 0, 0, 0, 0.5, Interpolation.Bilinear, 1);
        Assert.Equal([0.8125f, 0.875f, 0.9375f, 1f], output);
    }

    [Fact]
    public void RandomAffine_draws_angle_shifts_and_scale_in_order()
    {
        var affine = new RandomAffine(30, translate: (0.1f, 0.2f), scale: (0.9f, 1.1f));
        var twin = new Generator(11);
        double angle = -30 + 60 * twin.NextDouble();
        double maxX = 0.1f * 28.0, maxY = 0.2f * 14.0; // the fractions are floats
        int tx = (int)Math.Round(-maxX + 2 * maxX * twin.NextDouble(), MidpointRounding.ToEven);
        int ty = (int)Math.Round(-maxY + 2 * maxY * twin.NextDouble(), MidpointRounding.ToEven);
        double scale = 0.9f + (1.1f - 0.9f) * twin.NextDouble();
        var p = affine.DrawParameters(28, 14, new Generator(11));
        Assert.Equal(angle, p.Angle, 12);
        Assert.Equal(tx, p.ShiftX);
        Assert.Equal(ty, p.ShiftY);
        Assert.Equal(scale, p.Scale, 6);
        // Ranges that are a point draw nothing.
        var none = new RandomAffine(0).DrawParameters(28, 28, new Generator(3));
        Assert.Equal((0.0, 0, 0, 1.0), none);
    }

    [Theory]
    [InlineData(Interpolation.Nearest, 0f)]
    [InlineData(Interpolation.Bilinear, 0f)]
    [InlineData(Interpolation.Bilinear, 0.5f)]
    public void RandomAffine_matches_a_double_precision_reference_of_torchvisions_mapping(Interpolation mode, float fill)
    {
        var random = new Generator(99);
        const int c = 2, h = 7, w = 9;
        var input = new float[c * h * w];
        for (int i = 0; i < input.Length; i++) input[i] = random.NextFloat();
        var affine = new RandomAffine(45, translate: (0.2f, 0.2f), scale: (0.7f, 1.3f), interpolation: mode, fill: fill);
        for (ulong seed = 0; seed < 20; seed++)
        {
            var p = affine.DrawParameters(w, h, new Generator(seed));
            var expected = TorchvisionAffineReference(input, c, h, w, p.Angle, p.ShiftX, p.ShiftY, p.Scale, mode, fill);
            var actual = new float[input.Length];
            affine.Apply(input, new Shape(c, h, w), actual, new Generator(seed));
            Assert.Equal(expected, actual, new FloatTolerance(1e-5f));
        }
    }

    /// <summary>
    /// torchvision's tensor path written out step by step in double precision: _get_inverse_affine_matrix (centre 0,
    /// no shear), _gen_affine_grid (base grid x = -W/2 + 0.5 .. W/2 - 0.5, divided by W/2), grid_sample with
    /// align_corners=False (ix = ((gx + 1) W - 1) / 2) and zero padding, plus the mask channel for the fill.
    /// </summary>
    private static float[] TorchvisionAffineReference(float[] img, int c, int h, int w, double angle, int tx, int ty, double scale,
        Interpolation mode, float fill)
    {
        double rot = angle * Math.PI / 180;
        double a = Math.Cos(rot), b = -Math.Sin(rot), cc = Math.Sin(rot), d = Math.Cos(rot);
        double[] m = [d / scale, -b / scale, 0, -cc / scale, a / scale, 0];
        m[2] += m[0] * -tx + m[1] * -ty;
        m[5] += m[3] * -tx + m[4] * -ty;
        var output = new float[img.Length];
        for (int y = 0; y < h; y++)
        {
            for (int x = 0; x < w; x++)
            {
                double bx = -w * 0.5 + 0.5 + x, by = -h * 0.5 + 0.5 + y;
                double gx = (m[0] * bx + m[1] * by + m[2]) / (0.5 * w);
                double gy = (m[3] * bx + m[4] * by + m[5]) / (0.5 * h);
                double ix = ((gx + 1) * w - 1) / 2, iy = ((gy + 1) * h - 1) / 2;
                for (int ch = 0; ch < c; ch++)
                {
                    double Pixel(int px, int py, bool mask) =>
                        px >= 0 && px < w && py >= 0 && py < h ? (mask ? 1 : img[(ch * h + py) * w + px]) : 0;
                    double value, maskValue;
                    if (mode == Interpolation.Nearest)
                    {
                        int px = (int)Math.Round(ix, MidpointRounding.ToEven), py = (int)Math.Round(iy, MidpointRounding.ToEven);
                        value = Pixel(px, py, false);
                        maskValue = Pixel(px, py, true);
                        output[(ch * h + y) * w + x] = (float)(maskValue < 0.5 ? fill : value);
                        continue;
                    }
                    int x0 = (int)Math.Floor(ix), y0 = (int)Math.Floor(iy);
                    double fx = ix - x0, fy = iy - y0;
                    double Bilinear(bool mask) =>
                        Pixel(x0, y0, mask) * (1 - fx) * (1 - fy) + Pixel(x0 + 1, y0, mask) * fx * (1 - fy)
                        + Pixel(x0, y0 + 1, mask) * (1 - fx) * fy + Pixel(x0 + 1, y0 + 1, mask) * fx * fy;
                    value = Bilinear(false);
                    maskValue = Bilinear(true);
                    output[(ch * h + y) * w + x] = (float)(value * maskValue + (1 - maskValue) * fill);
                }
            }
        }
        return output;
    }

    [Fact]
    public void RandomAffine_refuses_bad_ranges()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new RandomAffine((10f, -10f)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RandomAffine(10, translate: (1.5f, 0f)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RandomAffine(10, scale: (0f, 1f)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RandomAffine(10, fill: float.NaN));
    }

    [Fact]
    public void Compose_chains_shapes_and_shares_the_random_source_in_order()
    {
        var crop = new RandomCrop(2, padding: 1);
        var flip = new RandomHorizontalFlip();
        var compose = new Compose(crop, flip, new Normalize([0.5f], [0.25f]));
        float[] input = [0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f, 0.8f, 0.9f];
        var shape = new Shape(1, 3, 3);
        Assert.Equal(new Shape(1, 2, 2), compose.OutputShape(shape));
        for (ulong seed = 0; seed < 10; seed++)
        {
            var random = new Generator(seed);
            var a = new float[4];
            crop.Apply(input, shape, a, random);
            var b = new float[4];
            flip.Apply(a, new Shape(1, 2, 2), b, random);
            var expected = b.Select(v => (v - 0.5f) / 0.25f).ToArray();
            Assert.Equal(expected, Run(compose, input, shape, seed));
        }
        Assert.Equal(input, Run(new Compose(), input, shape));
    }
}
