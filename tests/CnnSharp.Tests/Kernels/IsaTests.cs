using CnnSharp.Kernels;

namespace CnnSharp.Tests.Kernels;

/// <summary>The one SIMD level selector shared by the GEMM and direct kernels.</summary>
public sealed class IsaTests
{
    [Fact]
    public void Level_follows_use_scopes_and_stays_within_detected_and_max()
    {
        Assert.True(Isa.Level <= Isa.Detected && Isa.Level <= Isa.MaxLevel);
        using (Isa.Use(IsaLevel.V128)) Assert.Equal(IsaLevel.V128, Isa.Level);
        Assert.True(Isa.Level <= Isa.Detected);
    }

    [Theory]
    [InlineData((int)IsaLevel.Scalar, 1)]
    [InlineData((int)IsaLevel.V128, 4)]
    [InlineData((int)IsaLevel.V256, 8)]
    [InlineData((int)IsaLevel.V512, 16)]
    public void Lanes_are_the_floats_per_vector(int level, int lanes) => Assert.Equal(lanes, Isa.Lanes((IsaLevel)level));

    [Fact]
    public void Disabling_avx2_lowers_the_detected_level_below_V256()
    {
        // .ci/run runs the kernel tests a second time with DOTNET_EnableAVX2=0: they must then really take the fallbacks.
        if (Environment.GetEnvironmentVariable("DOTNET_EnableAVX2") == "0")
            Assert.True(Isa.Detected <= IsaLevel.V128, $"detected {Isa.Detected}");
        else if (System.Runtime.Intrinsics.X86.Avx2.IsSupported && System.Runtime.Intrinsics.X86.Fma.IsSupported)
            Assert.True(Isa.Detected >= IsaLevel.V256, $"detected {Isa.Detected} on an AVX2+FMA CPU");
        else
            Assert.True(Isa.Detected <= IsaLevel.V128, $"detected {Isa.Detected} without AVX2+FMA");
    }
}
