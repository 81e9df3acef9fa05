using CnnSharp.Kernels;
using CnnSharp.Tests.Compile;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Kernels;

/// <summary>
/// <see cref="ConvGemm.StoreEdge"/> in each vector <see cref="EdgeStore.Mode"/> the machine has against its scalar loop, bit for bit:
/// every corner of 1-8 rows by 1-32 columns (whole 16- and 8-wide vectors and scalar tails), overwrite and accumulate,
/// with and without the bias, residual, ReLU and upper clamp, on values that include NaN, ±0, ±∞ and values either side
/// of the clamps; nothing outside the corner is written.
/// </summary>
[Collection(nameof(PlanSwitchGroup))]
public sealed class ConvGemmStoreEdgeTests
{
    private const int Ldt = 32, Ldc = 37;

    private static float[] Values(int n, int seed)
    {
        var v = GradCheck.RandomValues(n, seed);
        float[] special = [float.NaN, -0f, 0f, float.PositiveInfinity, float.NegativeInfinity, 6f, 6.0000005f, -1e-30f, 5.9999995f];
        for (int i = 0; i < n; i += 7) v[i] = special[(i / 7) % special.Length];
        for (int i = 3; i < n; i += 5) v[i] *= 8f;
        return v;
    }

    private static unsafe float[] Store(EdgeStoreMode mode, int rows, int cols, bool accumulate, bool bias, bool residual, bool relu, float max)
    {
        var tile = Values(8 * Ldt, 1);
        var c = Values(8 * Ldc, 2);
        var b = Values(8, 3);
        var r = Values(8 * Ldc, 4);
        var saved = EdgeStore.Mode;
        EdgeStore.Mode = mode;
        try
        {
            fixed (float* pt = tile, pc = c, pb = b, pr = r)
                ConvGemm.StoreEdge(pt, Ldt, pc, Ldc, rows, cols, accumulate, bias ? pb : null, residual ? pr : null, relu, max);
        }
        finally
        {
            EdgeStore.Mode = saved;
        }
        return c;
    }

    public static TheoryData<int> Modes()
    {
        // Scalar against itself still checks that nothing outside the corner is written (and keeps the theory non-empty
        // on machines without AVX2, such as CI's DOTNET_EnableAVX2=0 leg).
        var data = new TheoryData<int>();
        foreach (var mode in new[] { EdgeStoreMode.Scalar, EdgeStoreMode.Vector256, EdgeStoreMode.Masked512 })
            if (mode <= EdgeStore.Best) data.Add((int)mode);
        return data;
    }

    [Theory, MemberData(nameof(Modes))]
    public void Vector_store_gives_the_scalar_loops_bits(int mode)
    {
        var untouched = Values(8 * Ldc, 2);
        foreach (int rows in new[] { 1, 3, 8 })
            for (int cols = 1; cols <= 32; cols++)
                for (int flags = 0; flags < 32; flags++)
                {
                    bool accumulate = (flags & 1) != 0, bias = (flags & 2) != 0, residual = (flags & 4) != 0, relu = (flags & 8) != 0;
                    float max = (flags & 16) != 0 ? 6f : float.PositiveInfinity;
                    var scalar = Store(EdgeStoreMode.Scalar, rows, cols, accumulate, bias, residual, relu, max);
                    var vector = Store((EdgeStoreMode)mode, rows, cols, accumulate, bias, residual, relu, max);
                    for (int i = 0; i < scalar.Length; i++)
                    {
                        if (BitConverter.SingleToInt32Bits(scalar[i]) != BitConverter.SingleToInt32Bits(vector[i]))
                            Assert.Fail($"{rows}x{cols}, flags {flags}: element {i} is {vector[i]:R} on vectors, {scalar[i]:R} scalar");
                        bool inside = i / Ldc < rows && i % Ldc < cols;
                        if (!inside && BitConverter.SingleToInt32Bits(vector[i]) != BitConverter.SingleToInt32Bits(untouched[i]))
                            Assert.Fail($"{rows}x{cols}, flags {flags}: element {i} outside the corner was written");
                    }
                }
    }
}
