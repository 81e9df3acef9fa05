using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace CnnSharp.Kernels.Direct;

/// <summary>The vector width a direct kernel plan is built for.</summary>
internal enum SimdPath
{
    /// <summary>One float at a time (<see cref="ScalarOps"/>): runs everywhere.</summary>
    Scalar = 0,

    /// <summary>4 floats (<see cref="V128Ops"/>): SSE, NEON.</summary>
    V128 = 1,

    /// <summary>8 floats (<see cref="V256Ops"/>): AVX2 + FMA3.</summary>
    V256 = 2,

    /// <summary>16 floats (<see cref="V512Ops"/>): AVX-512F.</summary>
    V512 = 3,
}

/// <summary>
/// Picks the <see cref="SimdPath"/> of the direct kernels: the widest the hardware accelerates, capped by
/// <see cref="MaxPath"/>. Plans may also be built for an explicit path above the detected one: the
/// <c>Vector128/256/512</c> APIs have (slow) software implementations, so tests check every path's arithmetic and
/// blocking on any machine. Running a process with <c>DOTNET_EnableAVX512=0</c> or <c>DOTNET_EnableAVX2=0</c> changes
/// <see cref="Detected"/> itself.
/// </summary>
internal static class SimdPaths
{
    /// <summary>The widest path the hardware accelerates in this process.</summary>
    public static SimdPath Detected { get; } = Detect();

    /// <summary>Process-wide cap on <see cref="Default"/> (for experiments and benchmarks of the fallbacks).</summary>
    public static SimdPath MaxPath { get; set; } = SimdPath.V512;

    /// <summary>
    /// <c>min(Detected, MaxPath)</c>, further capped by the GEMM kernels' <see cref="Isa.MaxLevel"/> (so one override
    /// lowers both families): the path new plans use unless told otherwise.
    /// </summary>
    public static SimdPath Default
    {
        get
        {
            var cap = Isa.MaxLevel switch
            {
                IsaLevel.V512 => SimdPath.V512,
                IsaLevel.V256 => SimdPath.V256,
                _ => SimdPath.Scalar,
            };
            var path = Detected < MaxPath ? Detected : MaxPath;
            return path < cap ? path : cap;
        }
    }

    private static SimdPath Detect()
    {
        if (Vector512.IsHardwareAccelerated && Avx512F.IsSupported) return SimdPath.V512;
        // Vector256 without FMA (AVX1 only) would run MultiplyAddEstimate as two instructions; still worth it.
        if (Vector256.IsHardwareAccelerated && (Avx2.IsSupported || !X86Base.IsSupported)) return SimdPath.V256;
        if (Vector128.IsHardwareAccelerated) return SimdPath.V128;
        return SimdPath.Scalar;
    }

    /// <summary>Floats per vector of <paramref name="path"/>.</summary>
    public static int Lanes(SimdPath path) => path switch
    {
        SimdPath.V512 => 16,
        SimdPath.V256 => 8,
        SimdPath.V128 => 4,
        _ => 1,
    };

    /// <summary>Accumulator budget of a register tile for <paramref name="path"/> (vector registers minus operands).</summary>
    public static int Accumulators(SimdPath path) => path == SimdPath.V512 ? 28 : 12;
}
