using Sig = CnnSharp.Signal;

namespace CnnSharp.Tests.Signal;

public sealed class SignalTests
{
    public static TheoryData<string> NumpyCases => NumpySignalFixture.Names();

    // ---- NumPy fixtures -------------------------------------------------------------------------------------------

    [Fact]
    public void Numpy_fixture_covers_every_op_and_mode()
    {
        var cases = NumpySignalFixture.Cases.Values.ToList();
        Assert.True(cases.Count >= 150, $"only {cases.Count} cases");
        foreach (string op in new[] { "convolve", "cross_correlate", "autocorrelate" })
            foreach (var mode in Enum.GetValues<CorrelationMode>())
                Assert.Contains(cases, c => c.Op == op && c.Mode == mode);
        // Even short lengths with either input longer: the cases where NumPy's "same" centring is subtle.
        Assert.Contains(cases, c => c.Op == "cross_correlate" && c.Mode == CorrelationMode.Same && c.F.Length > c.G!.Length && c.G.Length % 2 == 0);
        Assert.Contains(cases, c => c.Op == "cross_correlate" && c.Mode == CorrelationMode.Same && c.F.Length < c.G!.Length && c.F.Length % 2 == 0);
    }

    [Theory, MemberData(nameof(NumpyCases))]
    public void Double_matches_numpy_to_1e12_relative(string name)
    {
        var c = NumpySignalFixture.Cases[name];
        double[] actual = Run(c, c.F, c.G);
        Assert.Equal(c.Expected.Length, actual.Length);
        double[] bound = AbsoluteBound(c);
        for (int i = 0; i < actual.Length; i++)
        {
            // Error bound of a dot product: relative to sum |f[m] g[k]| over the terms of element i (not to |result|,
            // which can be near zero after cancellation).
            double tolerance = 1e-12 * bound[i] + double.Epsilon;
            Assert.True(Math.Abs(actual[i] - c.Expected[i]) <= tolerance,
                $"{c.NumpyCall} [{i}]: expected {c.Expected[i]:R}, got {actual[i]:R}");
        }
    }

    [Theory, MemberData(nameof(NumpyCases))]
    public void Float_matches_numpy_to_float_rounding(string name)
    {
        var c = NumpySignalFixture.Cases[name];
        float[] f = Array.ConvertAll(c.F, v => (float)v);
        float[]? g = c.G is null ? null : Array.ConvertAll(c.G, v => (float)v);
        float[] actual = c.Op switch
        {
            "convolve" => Sig.Convolve(f, g!, c.Mode),
            "cross_correlate" => Sig.CrossCorrelate(f, g!, c.Mode),
            _ => Sig.Autocorrelate(f, c.Mode),
        };
        Assert.Equal(c.Expected.Length, actual.Length);
        double[] bound = AbsoluteBound(c);
        for (int i = 0; i < actual.Length; i++)
        {
            // Inputs rounded to float32 (2 x 2^-24 per product) plus one final rounding of the result.
            double tolerance = 4.0 / (1 << 24) * bound[i] + float.Epsilon;
            Assert.True(Math.Abs(actual[i] - c.Expected[i]) <= tolerance,
                $"{c.NumpyCall} [{i}]: expected {c.Expected[i]:R}, got {actual[i]:R}");
        }
    }

    [Theory, MemberData(nameof(NumpyCases))]
    public void Window_position_and_length_match_numpy(string name)
    {
        var c = NumpySignalFixture.Cases[name];
        int m = c.G?.Length ?? c.F.Length;
        Assert.Equal(c.Expected.Length, Sig.OutputLength(c.F.Length, m, c.Mode));
        int first = c.Op == "convolve"
            ? Sig.ConvolutionFirstIndex(c.F.Length, m, c.Mode)
            : Sig.CrossCorrelationFirstLag(c.F.Length, m, c.Mode);
        Assert.Equal(c.First, first);
    }

    [Theory, MemberData(nameof(NumpyCases))]
    public void Destination_overloads_match_array_overloads(string name)
    {
        var c = NumpySignalFixture.Cases[name];
        double[] g = c.G ?? c.F;
        var destination = new double[c.Expected.Length];
        var destinationF = new float[c.Expected.Length];
        float[] ff = Array.ConvertAll(c.F, v => (float)v), gf = Array.ConvertAll(g, v => (float)v);
        if (c.Op == "convolve")
        {
            Sig.Convolve(c.F, g, destination, c.Mode);
            Sig.Convolve(ff, gf, destinationF, c.Mode);
            Assert.Equal(Sig.Convolve(ff, gf, c.Mode), destinationF);
        }
        else
        {
            Sig.CrossCorrelate(c.F, g, destination, c.Mode);
            Sig.CrossCorrelate(ff, gf, destinationF, c.Mode);
            Assert.Equal(Sig.CrossCorrelate(ff, gf, c.Mode), destinationF);
        }
        Assert.Equal(Run(c, c.F, c.G), destination);
    }

    // ---- Hand-worked cases ----------------------------------------------------------------------------------------

    [Fact]
    public void Convolve_hand_worked_all_modes()
    {
        double[] f = [1, 2, 3], g = [0, 1, 0.5];
        // (f*g)[n]: n=0: 1*0; n=1: 1*1 + 2*0; n=2: 1*0.5 + 2*1 + 3*0; n=3: 2*0.5 + 3*1; n=4: 3*0.5.
        Assert.Equal([0, 1, 2.5, 4, 1.5], Sig.Convolve(f, g));
        Assert.Equal([1, 2.5, 4], Sig.Convolve(f, g, CorrelationMode.Same));
        Assert.Equal([2.5], Sig.Convolve(f, g, CorrelationMode.Valid));
    }

    [Fact]
    public void CrossCorrelate_hand_worked_uses_seed_lag_convention()
    {
        double[] f = [1, 2], g = [1, 2, 3];
        // (f⋆g)(t) = f[0] g[t] + f[1] g[t+1]: t=-1: 2*1; t=0: 1 + 4; t=1: 2 + 6; t=2: 3.
        Assert.Equal([2, 5, 8, 3], Sig.CrossCorrelate(f, g));
        Assert.Equal(-1, Sig.CrossCorrelationFirstLag(2, 3, CorrelationMode.Full));
        // Valid: lags where f lies inside g: t = 0, 1.
        Assert.Equal([5, 8], Sig.CrossCorrelate(f, g, CorrelationMode.Valid));
        // Same (M ≥ N): lags -⌊N/2⌋ .. = -1, 0, 1.
        Assert.Equal([2, 5, 8], Sig.CrossCorrelate(f, g, CorrelationMode.Same));
    }

    [Fact]
    public void CrossCorrelate_equals_numpy_correlate_with_arguments_swapped()
    {
        // numpy.correlate([1, 2, 3], [0, 1, 0.5], 'full') = [0.5, 2, 3.5, 3, 0] (NumPy's documentation example),
        // which is the seed's (f⋆g) with f = [0, 1, 0.5], g = [1, 2, 3].
        Assert.Equal([0.5, 2, 3.5, 3, 0], Sig.CrossCorrelate([0, 1, 0.5], [1.0, 2, 3]));
        Assert.Equal([2, 3.5, 3], Sig.CrossCorrelate([0, 1, 0.5], [1.0, 2, 3], CorrelationMode.Same));
        Assert.Equal([3.5], Sig.CrossCorrelate([0, 1, 0.5], [1.0, 2, 3], CorrelationMode.Valid));
    }

    [Fact]
    public void CrossCorrelate_same_with_even_shorter_input_follows_numpy_per_argument_order()
    {
        double[] longer = [1, 2, 3, 4], pair = [1, 1];
        // f longer (M < N): lags ⌊M/2⌋-(N-1) = -2 .. 1 of full [4, 7, 5, 3, 1] (lags -3..1) = numpy.correlate(pair, longer, 'same').
        Assert.Equal([7, 5, 3, 1], Sig.CrossCorrelate(longer, pair, CorrelationMode.Same));
        // g longer (M ≥ N): lags -⌊N/2⌋ = -1 .. 2 of full [1, 3, 5, 7, 4] (lags -1..3) = numpy.correlate(longer, pair, 'same').
        Assert.Equal([1, 3, 5, 7], Sig.CrossCorrelate(pair, longer, CorrelationMode.Same));
        // Convolution commutes, so its window does not depend on the order: numpy.convolve gives [1, 3, 5, 7] both ways.
        Assert.Equal([1, 3, 5, 7], Sig.Convolve(longer, pair, CorrelationMode.Same));
        Assert.Equal([1, 3, 5, 7], Sig.Convolve(pair, longer, CorrelationMode.Same));
    }

    [Fact]
    public void Autocorrelate_even_length_same_has_extra_negative_lag()
    {
        double[] f = [1, 2, 3, 4];
        // R(0) = 1+4+9+16 = 30, R(±1) = 2+6+12 = 20, R(±2) = 3+8 = 11, R(±3) = 4.
        Assert.Equal([4, 11, 20, 30, 20, 11, 4], Sig.Autocorrelate(f));
        Assert.Equal([11, 20, 30, 20], Sig.Autocorrelate(f, CorrelationMode.Same)); // lags -2..1, numpy.correlate(f, f, 'same')
        Assert.Equal([30], Sig.Autocorrelate(f, CorrelationMode.Valid));
        // Odd length: centred exactly, lags -1..1.
        Assert.Equal([8, 14, 8], Sig.Autocorrelate([1.0, 2, 3], CorrelationMode.Same)); // R(0) = 1+4+9, R(±1) = 2+6
    }

    [Fact]
    public void Valid_when_g_is_longer_matches_numpy_swap()
    {
        double[] shortSeq = [1, 2, 3, 4], longSeq = [1, 2, 3, 4, 5];
        // numpy.convolve swaps so the longer input slides: [20, 30] both ways.
        Assert.Equal([20, 30], Sig.Convolve(longSeq, shortSeq, CorrelationMode.Valid));
        Assert.Equal([20, 30], Sig.Convolve(shortSeq, longSeq, CorrelationMode.Valid));
        // Correlation: lags 0..M-N when g is longer, M-N..0 when f is longer.
        Assert.Equal([30, 40], Sig.CrossCorrelate(shortSeq, longSeq, CorrelationMode.Valid)); // t=0: 1+4+9+16; t=1: 2+6+12+20
        Assert.Equal([40, 30], Sig.CrossCorrelate(longSeq, shortSeq, CorrelationMode.Valid)); // t=-1, 0
    }

    [Fact]
    public void Swapping_correlation_arguments_reverses_output_when_lengths_differ()
    {
        var rng = new Random(7);
        foreach (var (n, m) in new[] { (4, 2), (5, 2), (6, 3), (7, 4), (2, 9), (8, 1) })
        {
            double[] f = RandomSequence(rng, n), g = RandomSequence(rng, m);
            foreach (var mode in Enum.GetValues<CorrelationMode>())
            {
                double[] forward = Sig.CrossCorrelate(f, g, mode), backward = Sig.CrossCorrelate(g, f, mode);
                Array.Reverse(backward);
                Assert.Equal(forward, backward);
            }
        }
    }

    [Fact]
    public void Autocorrelate_equals_cross_correlation_with_itself_and_is_symmetric()
    {
        var rng = new Random(11);
        for (int n = 1; n <= 12; n++)
        {
            double[] f = RandomSequence(rng, n);
            foreach (var mode in Enum.GetValues<CorrelationMode>())
                Assert.Equal(Sig.CrossCorrelate(f, f, mode), Sig.Autocorrelate(f, mode));
            double[] full = Sig.Autocorrelate(f);
            double energy = f.Sum(v => v * v);
            Assert.Equal(energy, full[n - 1], 12);
            for (int k = 0; k < full.Length; k++) Assert.Equal(full[k], full[^(k + 1)], 12);
        }
    }

    // ---- Polynomial multiplication (Cauchy product) ---------------------------------------------------------------

    [Fact]
    public void Convolve_of_coefficients_is_polynomial_product()
    {
        // (1 + 2x + 3x²)(4 + 5x) = 4 + 13x + 22x² + 15x³
        Assert.Equal([4, 13, 22, 15], Sig.Convolve([1.0, 2, 3], [4.0, 5]));
        // (1 + x)^10 by repeated convolution gives the binomial coefficients C(10, k).
        double[] power = [1];
        for (int i = 0; i < 10; i++) power = Sig.Convolve(power, [1.0, 1]);
        Assert.Equal([1, 10, 45, 120, 210, 252, 210, 120, 45, 10, 1], power);
    }

    [Fact]
    public void Convolve_of_random_integer_polynomials_matches_evaluation_at_points()
    {
        var rng = new Random(2024);
        for (int trial = 0; trial < 20; trial++)
        {
            double[] p = Enumerable.Range(0, rng.Next(1, 9)).Select(_ => (double)rng.Next(-9, 10)).ToArray();
            double[] q = Enumerable.Range(0, rng.Next(1, 9)).Select(_ => (double)rng.Next(-9, 10)).ToArray();
            double[] product = Sig.Convolve(p, q);
            Assert.Equal(p.Length + q.Length - 1, product.Length);
            // Small integers: every value below is exact in double, so the check is exact.
            foreach (double x in new[] { -3.0, -2, -1, 0, 1, 2, 3 })
                Assert.Equal(Evaluate(p, x) * Evaluate(q, x), Evaluate(product, x));
        }
    }

    [Fact]
    public void Float_convolve_of_coefficients_is_polynomial_product()
    {
        Assert.Equal([4f, 13f, 22f, 15f], Sig.Convolve([1f, 2f, 3f], [4f, 5f]));
    }

    // ---- Vector remainders ----------------------------------------------------------------------------------------

    [Fact]
    public void Full_mode_matches_naive_loops_for_every_remainder_length()
    {
        var rng = new Random(5);
        double[] f = RandomSequence(rng, 67);
        for (int m = 1; m <= 67; m++)
        {
            double[] g = RandomSequence(rng, m);
            double[] conv = Sig.Convolve(f, g), xcorr = Sig.CrossCorrelate(f, g);
            for (int n = 0; n < conv.Length; n++)
            {
                double expected = 0;
                for (int k = 0; k < f.Length; k++)
                    if (n - k >= 0 && n - k < m) expected += f[k] * g[n - k];
                Assert.Equal(expected, conv[n], 1e-12);
            }
            for (int i = 0; i < xcorr.Length; i++)
            {
                int t = i - (f.Length - 1);
                double expected = 0;
                for (int tau = 0; tau < f.Length; tau++)
                    if (t + tau >= 0 && t + tau < m) expected += f[tau] * g[t + tau];
                Assert.Equal(expected, xcorr[i], 1e-12);
            }
        }
    }

    // ---- Errors ---------------------------------------------------------------------------------------------------

    [Fact]
    public void Empty_inputs_throw_naming_op_and_lengths()
    {
        double[] empty = [], three = [1, 2, 3];
        float[] emptyF = [], threeF = [1, 2, 3];
        AssertShapeError(() => Sig.Convolve(empty, three), "Convolve", "f length 0", "g length 3");
        AssertShapeError(() => Sig.Convolve(three, empty, CorrelationMode.Same), "Convolve", "f length 3", "g length 0");
        AssertShapeError(() => Sig.Convolve(emptyF, threeF), "Convolve", "f length 0", "g length 3");
        AssertShapeError(() => Sig.CrossCorrelate(three, empty), "CrossCorrelate", "f length 3", "g length 0");
        AssertShapeError(() => Sig.CrossCorrelate(emptyF, threeF, CorrelationMode.Valid), "CrossCorrelate", "f length 0", "g length 3");
        AssertShapeError(() => Sig.Autocorrelate(empty), "Autocorrelate", "f length 0");
        AssertShapeError(() => Sig.Autocorrelate(emptyF), "Autocorrelate", "f length 0");
        AssertShapeError(() => Sig.Convolve(empty, three, new double[3]), "Convolve", "f length 0");
    }

    [Fact]
    public void Wrong_destination_length_throws_naming_lengths()
    {
        double[] f = [1, 2, 3], g = [1, 2];
        AssertShapeError(() => Sig.Convolve(f, g, new double[3]), "Convolve", "destination has length 3", "needs 4");
        AssertShapeError(() => Sig.CrossCorrelate(f, g, new double[4], CorrelationMode.Same), "CrossCorrelate", "length 4", "needs 3");
        AssertShapeError(() => Sig.Convolve([1f, 2f], [1f], new float[3], CorrelationMode.Valid), "Convolve", "needs 2");
    }

    [Fact]
    public void Undefined_mode_throws_argument_out_of_range()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Sig.Convolve([1.0], [1.0], (CorrelationMode)7));
        Assert.Throws<ArgumentOutOfRangeException>(() => Sig.CrossCorrelationFirstLag(2, 3, (CorrelationMode)(-1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => Sig.OutputLength(0, 3, CorrelationMode.Full));
    }

    // ---- Helpers --------------------------------------------------------------------------------------------------

    private static double[] Run(NumpySignalCase c, double[] f, double[]? g) => c.Op switch
    {
        "convolve" => Sig.Convolve(f, g!, c.Mode),
        "cross_correlate" => Sig.CrossCorrelate(f, g!, c.Mode),
        "autocorrelate" => Sig.Autocorrelate(f, c.Mode),
        _ => throw new InvalidDataException($"unknown op {c.Op}"),
    };

    // sum of |terms| for each output element, by the seed's formulas term by term (independent of the library).
    private static double[] AbsoluteBound(NumpySignalCase c)
    {
        double[] f = c.F, g = c.G ?? c.F;
        var bound = new double[c.Expected.Length];
        for (int i = 0; i < bound.Length; i++)
        {
            int k = c.First + i;
            for (int m = 0; m < f.Length; m++)
            {
                int j = c.Op == "convolve" ? k - m : k + m;
                if (j >= 0 && j < g.Length) bound[i] += Math.Abs(f[m] * g[j]);
            }
        }
        return bound;
    }

    private static double Evaluate(double[] coefficients, double x)
    {
        double acc = 0;
        for (int i = coefficients.Length - 1; i >= 0; i--) acc = acc * x + coefficients[i];
        return acc;
    }

    private static double[] RandomSequence(Random rng, int length) =>
        Enumerable.Range(0, length).Select(_ => rng.NextDouble() * 2 - 1).ToArray();

    private static void AssertShapeError(Action action, params string[] fragments)
    {
        var ex = Assert.Throws<ShapeException>(action);
        Assert.IsAssignableFrom<ArgumentException>(ex);
        foreach (string fragment in fragments) Assert.Contains(fragment, ex.Message, StringComparison.Ordinal);
    }
}
