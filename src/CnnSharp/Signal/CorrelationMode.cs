namespace CnnSharp;

/// <summary>
/// Which part of the full convolution or cross-correlation sequence <see cref="Signal"/> returns, with
/// <c>numpy.convolve</c> / <c>numpy.correlate</c> semantics.
/// </summary>
/// <remarks>
/// For inputs of lengths <c>N</c> and <c>M</c>, let <c>S = min(N, M)</c> and <c>L = max(N, M)</c>. Every mode returns a
/// contiguous window of the full sequence (length <c>N + M - 1</c>); <see cref="Signal.OutputLength"/> gives its length,
/// <see cref="Signal.ConvolutionFirstIndex"/> and <see cref="Signal.CrossCorrelationFirstLag"/> where it starts.
/// docs/semantics.md has the derivation and worked examples.
/// </remarks>
public enum CorrelationMode
{
    /// <summary>Every index where the sequences overlap at all: length <c>N + M - 1</c>.</summary>
    Full,

    /// <summary>
    /// Length <c>L</c>, centred on the full sequence as NumPy centres it. For even <c>S</c> the centre is not unique and
    /// NumPy's choice depends on the operation and on which input is longer; see <see cref="Signal.ConvolutionFirstIndex"/>
    /// and <see cref="Signal.CrossCorrelationFirstLag"/>.
    /// </summary>
    Same,

    /// <summary>
    /// Only the indices where the shorter sequence lies entirely inside the longer one: length <c>L - S + 1</c>. As in
    /// NumPy, this is defined whichever input is longer (NumPy swaps the inputs; it never returns an empty result).
    /// </summary>
    Valid,
}
