using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace CnnSharp.Kernels;

/// <summary>
/// The SIMD code paths the kernels implement, from the portable scalar loops to 512-bit vectors. One concept for every
/// kernel family: the direct convolution kernels (<c>Kernels.Direct</c>) implement all four levels; the GEMM kernels
/// implement Scalar, V256 and V512 and run their scalar kernel at <see cref="V128"/>.
/// </summary>
internal enum IsaLevel
{
    /// <summary>Plain scalar C# (direct kernels: <c>ScalarOps</c>): runs everywhere; the fallback and a second oracle.</summary>
    Scalar = 0,

    /// <summary>128-bit vectors (4 floats, direct kernels: <c>V128Ops</c>): SSE, NEON. GEMM runs its scalar kernel here.</summary>
    V128 = 1,

    /// <summary>256-bit vectors (8 floats) with fused multiply-add: x64 AVX2+FMA (or any CPU where Vector256 is accelerated).</summary>
    V256 = 2,

    /// <summary>512-bit vectors (16 floats) with fused multiply-add: x64 AVX-512F.</summary>
    V512 = 3,
}

/// <summary>
/// Chooses the SIMD level of the kernels: the best the CPU supports (<see cref="Detected"/>), capped by <see cref="MaxLevel"/>.
/// </summary>
/// <remarks>
/// Kernels that take an explicit <see cref="IsaLevel"/> run that level's code even above <see cref="Detected"/>: the
/// <c>Vector256</c>/<c>Vector512</c> APIs they use have a (slow) software implementation on CPUs without the hardware, so
/// tests can check every path's arithmetic and blocking on any machine. The per-process alternative is running the suite
/// with <c>DOTNET_EnableAVX512=0</c> or <c>DOTNET_EnableAVX2=0</c>, which changes <see cref="Detected"/> itself.
/// The GEMM kernels read <see cref="Level"/> per call; the compiled conv chains and ONNX direct-conv chains read it once, when they
/// build their direct-kernel plans.
/// </remarks>
internal static class Isa
{
    /// <summary>The best level the hardware accelerates in this process.</summary>
    public static IsaLevel Detected { get; } = Detect();

    /// <summary>Upper bound on <see cref="Level"/>: <see cref="ExecutionOptions.MaxSimd"/> of the current options.</summary>
    public static IsaLevel MaxLevel => (IsaLevel)ExecutionOptions.Current.MaxSimd;

    /// <summary>The level the kernels use: the innermost <see cref="Use"/> scope's, else <c>min(Detected, MaxLevel)</c>.</summary>
    public static IsaLevel Level => s_override.Value ?? (Detected < MaxLevel ? Detected : MaxLevel);

    // AsyncLocal flows with the calling thread's execution context, not into the persistent worker threads (a kernel
    // resolves the level before it hands chunks to the pool) nor into unrelated concurrent work, so a test can pin a
    // level without affecting tests running beside it.
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
        if (Vector256.IsHardwareAccelerated && ((Avx2.IsSupported && Fma.IsSupported) || !X86Base.IsSupported)) return IsaLevel.V256;
        if (Vector128.IsHardwareAccelerated) return IsaLevel.V128;
        return IsaLevel.Scalar;
    }

    /// <summary>Floats per vector of <paramref name="level"/>.</summary>
    public static int Lanes(IsaLevel level) => level switch
    {
        IsaLevel.V512 => 16,
        IsaLevel.V256 => 8,
        IsaLevel.V128 => 4,
        _ => 1,
    };

    /// <summary>Accumulator budget of a direct-kernel register tile at <paramref name="level"/> (vector registers minus operands).</summary>
    public static int Accumulators(IsaLevel level) => level == IsaLevel.V512 ? 28 : 12;
}
