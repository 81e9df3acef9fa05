using System.Buffers;
using System.Numerics.Tensors;

namespace CnnSharp;

/// <summary>
/// Discrete convolution, cross-correlation and autocorrelation of finite sequences, with the tutorial's definitions and
/// NumPy's <c>full</c>/<c>same</c>/<c>valid</c> windows.
/// </summary>
/// <remarks>
/// <para>
/// Index origin: the inputs <c>f</c> (length <c>N</c>) and <c>g</c> (length <c>M</c>) are indexed from 0 and are zero
/// outside <c>[0, N)</c> and <c>[0, M)</c>.
/// </para>
/// <list type="bullet">
/// <item><description>Convolution: <c>(f * g)[n] = sum over m of f[m] g[n - m]</c>, nonzero for <c>n</c> in
/// <c>[0, N + M - 2]</c>; equal to <c>numpy.convolve(f, g, mode)</c> and commutative in every mode.</description></item>
/// <item><description>Cross-correlation: <c>(f ⋆ g)(t) = sum over τ of f[τ] g[t + τ]</c> (lag <c>t</c>, <c>g</c> read
/// ahead of <c>f</c>), nonzero for <c>t</c> in <c>[-(N - 1), M - 1]</c>; equal to <c>numpy.correlate(g, f, mode)</c>,
/// note the argument order.</description></item>
/// <item><description>Autocorrelation: <c>R_f(t) = (f ⋆ f)(t)</c>; equal to <c>numpy.correlate(f, f, mode)</c>.</description></item>
/// </list>
/// <para>
/// Output element <c>i</c> holds <c>(f * g)[ConvolutionFirstIndex(N, M, mode) + i]</c> or
/// <c>(f ⋆ g)(CrossCorrelationFirstLag(N, M, mode) + i)</c>. In <see cref="CorrelationMode.Full"/> mode that is
/// <c>(f * g)[i]</c> and <c>(f ⋆ g)(i - (N - 1))</c>.
/// </para>
/// <para>
/// Cost: a direct O(N·M) loop on one thread whose inner loop is a vectorised dot product; no FFT. The float32 overloads
/// widen the inputs and accumulate in float64, then round each output once (NumPy accumulates float32 in float32).
/// </para>
/// </remarks>
public static class Signal
{
    /// <summary>Discrete convolution <c>(f * g)[n] = sum over m of f[m] g[n - m]</c>, windowed by <paramref name="mode"/>.</summary>
    /// <remarks>
    /// Equals <c>numpy.convolve(f, g, mode)</c>: output <c>i</c> is <c>(f * g)[ConvolutionFirstIndex(N, M, mode) + i]</c>.
    /// Convolving two coefficient sequences (lowest power first) in <see cref="CorrelationMode.Full"/> mode gives the
    /// coefficients of the product polynomial (the Cauchy product). Example: <c>Convolve([1, 2], [1, 3])</c> is
    /// <c>[1, 5, 6]</c>, as <c>(1 + 2x)(1 + 3x) = 1 + 5x + 6x²</c>.
    /// </remarks>
    /// <param name="f">First sequence, length <c>N ≥ 1</c>.</param>
    /// <param name="g">Second sequence, length <c>M ≥ 1</c>.</param>
    /// <param name="mode">Which window of the full sequence to return (default <see cref="CorrelationMode.Full"/>).</param>
    /// <returns>A new array of length <see cref="OutputLength"/>(N, M, mode).</returns>
    /// <exception cref="ShapeException">An input is empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="mode"/> is not a defined value.</exception>
    public static double[] Convolve(ReadOnlySpan<double> f, ReadOnlySpan<double> g, CorrelationMode mode = CorrelationMode.Full)
    {
        var result = new double[OutputLengthChecked("Convolve", f.Length, g.Length, mode)];
        ConvolveCore(f, g, ConvolutionFirstIndex(f.Length, g.Length, mode), result);
        return result;
    }

    /// <summary>Float32 convolution; see <see cref="Convolve(ReadOnlySpan{double}, ReadOnlySpan{double}, CorrelationMode)"/>.</summary>
    /// <remarks>Accumulates in float64 and rounds each output element once.</remarks>
    /// <param name="f">First sequence, length <c>N ≥ 1</c>.</param>
    /// <param name="g">Second sequence, length <c>M ≥ 1</c>.</param>
    /// <param name="mode">Which window of the full sequence to return (default <see cref="CorrelationMode.Full"/>).</param>
    /// <returns>A new array of length <see cref="OutputLength"/>(N, M, mode).</returns>
    /// <exception cref="ShapeException">An input is empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="mode"/> is not a defined value.</exception>
    public static float[] Convolve(ReadOnlySpan<float> f, ReadOnlySpan<float> g, CorrelationMode mode = CorrelationMode.Full)
    {
        var result = new float[OutputLengthChecked("Convolve", f.Length, g.Length, mode)];
        WidenAndRun(f, g, result, ConvolutionFirstIndex(f.Length, g.Length, mode), convolve: true);
        return result;
    }

    /// <summary>Convolution written into <paramref name="destination"/>; see <see cref="Convolve(ReadOnlySpan{double}, ReadOnlySpan{double}, CorrelationMode)"/>.</summary>
    /// <param name="f">First sequence, length <c>N ≥ 1</c>.</param>
    /// <param name="g">Second sequence, length <c>M ≥ 1</c>.</param>
    /// <param name="destination">Receives the result; length exactly <see cref="OutputLength"/>(N, M, mode). Must not overlap the inputs.</param>
    /// <param name="mode">Which window of the full sequence to write.</param>
    /// <exception cref="ShapeException">An input is empty or <paramref name="destination"/> has the wrong length.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="mode"/> is not a defined value.</exception>
    public static void Convolve(ReadOnlySpan<double> f, ReadOnlySpan<double> g, Span<double> destination, CorrelationMode mode = CorrelationMode.Full)
    {
        CheckDestination("Convolve", f.Length, g.Length, mode, destination.Length);
        ConvolveCore(f, g, ConvolutionFirstIndex(f.Length, g.Length, mode), destination);
    }

    /// <summary>Float32 convolution written into <paramref name="destination"/>; see <see cref="Convolve(ReadOnlySpan{double}, ReadOnlySpan{double}, CorrelationMode)"/>.</summary>
    /// <param name="f">First sequence, length <c>N ≥ 1</c>.</param>
    /// <param name="g">Second sequence, length <c>M ≥ 1</c>.</param>
    /// <param name="destination">Receives the result; length exactly <see cref="OutputLength"/>(N, M, mode).</param>
    /// <param name="mode">Which window of the full sequence to write.</param>
    /// <exception cref="ShapeException">An input is empty or <paramref name="destination"/> has the wrong length.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="mode"/> is not a defined value.</exception>
    public static void Convolve(ReadOnlySpan<float> f, ReadOnlySpan<float> g, Span<float> destination, CorrelationMode mode = CorrelationMode.Full)
    {
        CheckDestination("Convolve", f.Length, g.Length, mode, destination.Length);
        WidenAndRun(f, g, destination, ConvolutionFirstIndex(f.Length, g.Length, mode), convolve: true);
    }

    /// <summary>Cross-correlation <c>(f ⋆ g)(t) = sum over τ of f[τ] g[t + τ]</c>, windowed by <paramref name="mode"/>.</summary>
    /// <remarks>
    /// Output <c>i</c> is <c>(f ⋆ g)(CrossCorrelationFirstLag(N, M, mode) + i)</c>; in <see cref="CorrelationMode.Full"/>
    /// mode lags run from <c>-(N - 1)</c> to <c>M - 1</c>. This equals <c>numpy.correlate(g, f, mode)</c> (NumPy's first
    /// argument is the one read ahead), including NumPy's <see cref="CorrelationMode.Same"/> window for even lengths.
    /// Swapping the arguments reverses the full sequence: <c>(g ⋆ f)(t) = (f ⋆ g)(-t)</c>.
    /// Example: <c>CrossCorrelate([1, 2], [1, 2, 3])</c> is <c>[2, 5, 8, 3]</c> at lags -1, 0, 1, 2.
    /// </remarks>
    /// <param name="f">Template sequence, length <c>N ≥ 1</c>.</param>
    /// <param name="g">Sequence read at <c>t + τ</c>, length <c>M ≥ 1</c>.</param>
    /// <param name="mode">Which window of lags to return (default <see cref="CorrelationMode.Full"/>).</param>
    /// <returns>A new array of length <see cref="OutputLength"/>(N, M, mode).</returns>
    /// <exception cref="ShapeException">An input is empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="mode"/> is not a defined value.</exception>
    public static double[] CrossCorrelate(ReadOnlySpan<double> f, ReadOnlySpan<double> g, CorrelationMode mode = CorrelationMode.Full)
    {
        var result = new double[OutputLengthChecked("CrossCorrelate", f.Length, g.Length, mode)];
        CorrelateCore(f, g, CrossCorrelationFirstLag(f.Length, g.Length, mode), result);
        return result;
    }

    /// <summary>Float32 cross-correlation; see <see cref="CrossCorrelate(ReadOnlySpan{double}, ReadOnlySpan{double}, CorrelationMode)"/>.</summary>
    /// <remarks>Accumulates in float64 and rounds each output element once.</remarks>
    /// <param name="f">Template sequence, length <c>N ≥ 1</c>.</param>
    /// <param name="g">Sequence read at <c>t + τ</c>, length <c>M ≥ 1</c>.</param>
    /// <param name="mode">Which window of lags to return (default <see cref="CorrelationMode.Full"/>).</param>
    /// <returns>A new array of length <see cref="OutputLength"/>(N, M, mode).</returns>
    /// <exception cref="ShapeException">An input is empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="mode"/> is not a defined value.</exception>
    public static float[] CrossCorrelate(ReadOnlySpan<float> f, ReadOnlySpan<float> g, CorrelationMode mode = CorrelationMode.Full)
    {
        var result = new float[OutputLengthChecked("CrossCorrelate", f.Length, g.Length, mode)];
        WidenAndRun(f, g, result, CrossCorrelationFirstLag(f.Length, g.Length, mode), convolve: false);
        return result;
    }

    /// <summary>Cross-correlation written into <paramref name="destination"/>; see <see cref="CrossCorrelate(ReadOnlySpan{double}, ReadOnlySpan{double}, CorrelationMode)"/>.</summary>
    /// <param name="f">Template sequence, length <c>N ≥ 1</c>.</param>
    /// <param name="g">Sequence read at <c>t + τ</c>, length <c>M ≥ 1</c>.</param>
    /// <param name="destination">Receives the result; length exactly <see cref="OutputLength"/>(N, M, mode). Must not overlap the inputs.</param>
    /// <param name="mode">Which window of lags to write.</param>
    /// <exception cref="ShapeException">An input is empty or <paramref name="destination"/> has the wrong length.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="mode"/> is not a defined value.</exception>
    public static void CrossCorrelate(ReadOnlySpan<double> f, ReadOnlySpan<double> g, Span<double> destination, CorrelationMode mode = CorrelationMode.Full)
    {
        CheckDestination("CrossCorrelate", f.Length, g.Length, mode, destination.Length);
        CorrelateCore(f, g, CrossCorrelationFirstLag(f.Length, g.Length, mode), destination);
    }

    /// <summary>Float32 cross-correlation written into <paramref name="destination"/>; see <see cref="CrossCorrelate(ReadOnlySpan{double}, ReadOnlySpan{double}, CorrelationMode)"/>.</summary>
    /// <param name="f">Template sequence, length <c>N ≥ 1</c>.</param>
    /// <param name="g">Sequence read at <c>t + τ</c>, length <c>M ≥ 1</c>.</param>
    /// <param name="destination">Receives the result; length exactly <see cref="OutputLength"/>(N, M, mode).</param>
    /// <param name="mode">Which window of lags to write.</param>
    /// <exception cref="ShapeException">An input is empty or <paramref name="destination"/> has the wrong length.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="mode"/> is not a defined value.</exception>
    public static void CrossCorrelate(ReadOnlySpan<float> f, ReadOnlySpan<float> g, Span<float> destination, CorrelationMode mode = CorrelationMode.Full)
    {
        CheckDestination("CrossCorrelate", f.Length, g.Length, mode, destination.Length);
        WidenAndRun(f, g, destination, CrossCorrelationFirstLag(f.Length, g.Length, mode), convolve: false);
    }

    /// <summary>Autocorrelation <c>R_f(t) = sum over τ of f[τ] f[t + τ]</c>, windowed by <paramref name="mode"/>.</summary>
    /// <remarks>
    /// Same as <c>CrossCorrelate(f, f, mode)</c> and <c>numpy.correlate(f, f, mode)</c>. Full mode has <c>2N - 1</c> lags
    /// from <c>-(N - 1)</c> to <c>N - 1</c>, symmetric (<c>R_f(-t) = R_f(t)</c>) with <c>R_f(0) = sum of f[τ]²</c> in the
    /// middle. Same mode has lags <c>-⌊N/2⌋ .. N - 1 - ⌊N/2⌋</c> (one extra negative lag for even N); valid mode is the
    /// single lag 0.
    /// </remarks>
    /// <param name="f">The sequence, length <c>N ≥ 1</c>.</param>
    /// <param name="mode">Which window of lags to return (default <see cref="CorrelationMode.Full"/>).</param>
    /// <returns>A new array of length <see cref="OutputLength"/>(N, N, mode).</returns>
    /// <exception cref="ShapeException"><paramref name="f"/> is empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="mode"/> is not a defined value.</exception>
    public static double[] Autocorrelate(ReadOnlySpan<double> f, CorrelationMode mode = CorrelationMode.Full)
    {
        var result = new double[OutputLengthChecked("Autocorrelate", f.Length, f.Length, mode)];
        CorrelateCore(f, f, CrossCorrelationFirstLag(f.Length, f.Length, mode), result);
        return result;
    }

    /// <summary>Float32 autocorrelation; see <see cref="Autocorrelate(ReadOnlySpan{double}, CorrelationMode)"/>.</summary>
    /// <remarks>Accumulates in float64 and rounds each output element once.</remarks>
    /// <param name="f">The sequence, length <c>N ≥ 1</c>.</param>
    /// <param name="mode">Which window of lags to return (default <see cref="CorrelationMode.Full"/>).</param>
    /// <returns>A new array of length <see cref="OutputLength"/>(N, N, mode).</returns>
    /// <exception cref="ShapeException"><paramref name="f"/> is empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="mode"/> is not a defined value.</exception>
    public static float[] Autocorrelate(ReadOnlySpan<float> f, CorrelationMode mode = CorrelationMode.Full)
    {
        var result = new float[OutputLengthChecked("Autocorrelate", f.Length, f.Length, mode)];
        WidenAndRun(f, f, result, CrossCorrelationFirstLag(f.Length, f.Length, mode), convolve: false);
        return result;
    }

    /// <summary>Length of the result for inputs of lengths <paramref name="lengthF"/> and <paramref name="lengthG"/>.</summary>
    /// <remarks>Full: <c>N + M - 1</c>; Same: <c>max(N, M)</c>; Valid: <c>max(N, M) - min(N, M) + 1</c>. The same for every operation.</remarks>
    /// <param name="lengthF">Length <c>N ≥ 1</c> of the first input.</param>
    /// <param name="lengthG">Length <c>M ≥ 1</c> of the second input.</param>
    /// <param name="mode">The window.</param>
    /// <returns>The number of output elements.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A length is below 1, the full length exceeds <see cref="Array.MaxLength"/>, or <paramref name="mode"/> is not defined.</exception>
    public static int OutputLength(int lengthF, int lengthG, CorrelationMode mode)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(lengthF, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(lengthG, 1);
        long full = (long)lengthF + lengthG - 1;
        if (full > Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(lengthG), $"full output length {full} (lengths {lengthF} and {lengthG}) exceeds the maximum array length");
        return mode switch
        {
            CorrelationMode.Full => (int)full,
            CorrelationMode.Same => Math.Max(lengthF, lengthG),
            CorrelationMode.Valid => Math.Abs(lengthF - lengthG) + 1,
            _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "unknown CorrelationMode"),
        };
    }

    /// <summary>The index <c>n</c> of <c>(f * g)[n]</c> that <see cref="Convolve(ReadOnlySpan{double}, ReadOnlySpan{double}, CorrelationMode)"/> puts at output index 0.</summary>
    /// <remarks>
    /// With <c>S = min(N, M)</c>: Full 0; Same <c>⌊(S - 1)/2⌋</c>; Valid <c>S - 1</c> (NumPy's windows, symmetric in the
    /// two lengths because convolution commutes).
    /// </remarks>
    /// <param name="lengthF">Length <c>N ≥ 1</c> of <c>f</c>.</param>
    /// <param name="lengthG">Length <c>M ≥ 1</c> of <c>g</c>.</param>
    /// <param name="mode">The window.</param>
    /// <returns>The first index, in <c>[0, N + M - 2]</c>.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A length is below 1 or <paramref name="mode"/> is not defined.</exception>
    public static int ConvolutionFirstIndex(int lengthF, int lengthG, CorrelationMode mode)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(lengthF, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(lengthG, 1);
        int shorter = Math.Min(lengthF, lengthG);
        return mode switch
        {
            CorrelationMode.Full => 0,
            CorrelationMode.Same => (shorter - 1) / 2,
            CorrelationMode.Valid => shorter - 1,
            _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "unknown CorrelationMode"),
        };
    }

    /// <summary>The lag <c>t</c> of <c>(f ⋆ g)(t)</c> that <see cref="CrossCorrelate(ReadOnlySpan{double}, ReadOnlySpan{double}, CorrelationMode)"/> puts at output index 0.</summary>
    /// <remarks>
    /// Full: <c>-(N - 1)</c>. Valid: <c>0</c> when <c>M ≥ N</c> (lags <c>0 .. M - N</c>), <c>M - N</c> when <c>M &lt; N</c>
    /// (lags <c>M - N .. 0</c>). Same (NumPy's window, which is not symmetric in the two lengths): <c>-⌊N/2⌋</c> when
    /// <c>M ≥ N</c>; <c>⌊M/2⌋ - (N - 1)</c> when <c>M &lt; N</c>. The two cases differ for even lengths because NumPy
    /// computes the <c>M &lt; N</c> case with swapped arguments and reverses the result.
    /// </remarks>
    /// <param name="lengthF">Length <c>N ≥ 1</c> of <c>f</c>.</param>
    /// <param name="lengthG">Length <c>M ≥ 1</c> of <c>g</c>.</param>
    /// <param name="mode">The window.</param>
    /// <returns>The first lag, in <c>[-(N - 1), M - 1]</c>.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A length is below 1 or <paramref name="mode"/> is not defined.</exception>
    public static int CrossCorrelationFirstLag(int lengthF, int lengthG, CorrelationMode mode)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(lengthF, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(lengthG, 1);
        return mode switch
        {
            CorrelationMode.Full => -(lengthF - 1),
            // numpy.correlate(g, f, 'same') with len(g) >= len(f) starts at full index ⌊(N-1)/2⌋, i.e. lag ⌊(N-1)/2⌋-(N-1) = -⌊N/2⌋.
            // With len(g) < len(f) NumPy swaps, correlates, then reverses, which moves the start to full index ⌊M/2⌋.
            CorrelationMode.Same => lengthG >= lengthF ? -(lengthF / 2) : lengthG / 2 - (lengthF - 1),
            CorrelationMode.Valid => Math.Min(lengthG - lengthF, 0),
            _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "unknown CorrelationMode"),
        };
    }

    // destination[i] = (f ⋆ g)(firstLag + i) = sum over τ in [lo, hi) of f[τ] g[t + τ], where [lo, hi) is the overlap
    // 0 ≤ τ < N and 0 ≤ t + τ < M. Both operands are contiguous, so the inner sum is one TensorPrimitives.Dot.
    private static void CorrelateCore(ReadOnlySpan<double> f, ReadOnlySpan<double> g, int firstLag, Span<double> destination)
    {
        for (int i = 0; i < destination.Length; i++)
        {
            int t = firstLag + i;
            int lo = Math.Max(0, -t);
            int hi = Math.Min(f.Length, g.Length - t);
            destination[i] = hi > lo ? TensorPrimitives.Dot(f[lo..hi], g[(lo + t)..(hi + t)]) : 0.0;
        }
    }

    // (f * g)[n] = sum over m of f[m] g[n - m]. With r[j] = g[M - 1 - j] (g reversed), g[n - m] = r[m + M - 1 - n], so
    // (f * g)[n] = (f ⋆ r)(M - 1 - n): the contiguous dot product of CorrelateCore with the lag running backwards.
    private static void ConvolveCore(ReadOnlySpan<double> f, ReadOnlySpan<double> g, int firstIndex, Span<double> destination)
    {
        double[] rented = ArrayPool<double>.Shared.Rent(g.Length);
        try
        {
            Span<double> reversed = rented.AsSpan(0, g.Length);
            g.CopyTo(reversed);
            reversed.Reverse();
            for (int i = 0; i < destination.Length; i++)
            {
                int t = g.Length - 1 - (firstIndex + i);
                int lo = Math.Max(0, -t);
                int hi = Math.Min(f.Length, g.Length - t);
                destination[i] = hi > lo ? TensorPrimitives.Dot(f[lo..hi], reversed[(lo + t)..(hi + t)]) : 0.0;
            }
        }
        finally
        {
            ArrayPool<double>.Shared.Return(rented);
        }
    }

    // Float32 path: widen both inputs to float64, run the double kernel, round each result once.
    private static void WidenAndRun(ReadOnlySpan<float> f, ReadOnlySpan<float> g, Span<float> destination, int first, bool convolve)
    {
        double[] rented = ArrayPool<double>.Shared.Rent(f.Length + g.Length + destination.Length);
        try
        {
            Span<double> fd = rented.AsSpan(0, f.Length);
            Span<double> gd = rented.AsSpan(f.Length, g.Length);
            Span<double> outd = rented.AsSpan(f.Length + g.Length, destination.Length);
            TensorPrimitives.ConvertChecked<float, double>(f, fd);
            TensorPrimitives.ConvertChecked<float, double>(g, gd);
            if (convolve) ConvolveCore(fd, gd, first, outd);
            else CorrelateCore(fd, gd, first, outd);
            TensorPrimitives.ConvertTruncating<double, float>(outd, destination);
        }
        finally
        {
            ArrayPool<double>.Shared.Return(rented);
        }
    }

    private static int OutputLengthChecked(string op, int lengthF, int lengthG, CorrelationMode mode)
    {
        if (lengthF == 0 || lengthG == 0)
            throw new ShapeException(op == "Autocorrelate"
                ? $"{op}: input must be non-empty (f length {lengthF}, mode {mode})"
                : $"{op}: inputs must be non-empty (f length {lengthF}, g length {lengthG}, mode {mode})");
        return OutputLength(lengthF, lengthG, mode);
    }

    private static void CheckDestination(string op, int lengthF, int lengthG, CorrelationMode mode, int destinationLength)
    {
        int expected = OutputLengthChecked(op, lengthF, lengthG, mode);
        if (destinationLength != expected)
            throw new ShapeException($"{op}: destination has length {destinationLength} but mode {mode} needs {expected} (f length {lengthF}, g length {lengthG})");
    }
}
