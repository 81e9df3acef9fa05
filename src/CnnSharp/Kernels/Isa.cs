using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace CnnSharp.Kernels;

/// <summary>The SIMD code paths the kernels implement, from the portable scalar loops to 512-bit vectors.</summary>
internal enum IsaLevel
{
    /// <summary>Plain scalar C#: runs everywhere; the fallback and a second oracle.</summary>
    Scalar = 0,

    /// <summary>256-bit vectors (8 floats) with fused multiply-add: x64 AVX2+FMA (or any CPU where Vector256 is accelerated).</summary>
    V256 = 1,

    /// <summary>512-bit vectors (16 floats) with fused multiply-add: x64 AVX-512F.</summary>
    V512 = 2,
}

/// <summary>
/// Chooses the SIMD level of the kernels: the best the CPU supports (<see cref="Detected"/>), capped by <see cref="MaxLevel"/>.
/// </summary>
/// <remarks>
/// Kernels that take an explicit <see cref="IsaLevel"/> run that level's code even above <see cref="Detected"/>: the
/// <c>Vector256</c>/<c>Vector512</c> APIs they use have a (slow) software implementation on CPUs without the hardware, so
/// tests can check every path's arithmetic and blocking on any machine. The per-process alternative is running the suite
/// with <c>DOTNET_EnableAVX512=0</c> or <c>DOTNET_EnableAVX2=0</c>.
/// </remarks>
internal static class Isa
{
    /// <summary>The best level the hardware accelerates in this process.</summary>
    public static IsaLevel Detected { get; } = Detect();

    /// <summary>Upper bound on <see cref="Level"/> (default <see cref="IsaLevel.V512"/>): lower it to force a fallback path process-wide.</summary>
    public static IsaLevel MaxLevel { get; set; } = IsaLevel.V512;

    /// <summary>The level the kernels use: the innermost <see cref="Use"/> scope's, else <c>min(Detected, MaxLevel)</c>.</summary>
    public static IsaLevel Level => s_override.Value ?? (Detected < MaxLevel ? Detected : MaxLevel);

    // AsyncLocal flows into the Parallel.For work items a kernel starts, but not into unrelated concurrent work, so a test
    // can pin a level without affecting tests running beside it.
    private static readonly AsyncLocal<IsaLevel?> s_override = new();

    /// <summary>
    /// Runs the kernels at <paramref name="level"/> on this logical call flow until the returned scope is disposed, even above
    /// <see cref="Detected"/> (software-emulated vectors: for tests).
    /// </summary>
    public static Scope Use(IsaLevel level)
    {
        var previous = s_override.Value;
        s_override.Value = level;
        return new Scope(previous);
    }

    /// <summary>Restores the previous level on dispose.</summary>
    public readonly struct Scope(IsaLevel? previous) : IDisposable
    {
        /// <summary>Restores the level that was in effect before <see cref="Use"/>.</summary>
        public void Dispose() => s_override.Value = previous;
    }

    private static IsaLevel Detect()
    {
        if (Vector512.IsHardwareAccelerated && Avx512F.IsSupported) return IsaLevel.V512;
        if (Vector256.IsHardwareAccelerated && (Fma.IsSupported || !X86Base.IsSupported)) return IsaLevel.V256;
        return IsaLevel.Scalar;
    }
}
