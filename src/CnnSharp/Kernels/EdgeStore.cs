using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace CnnSharp.Kernels;

/// <summary>
/// <see cref="ConvGemm.StoreEdge"/> on vectors (see <see cref="Mode"/>): the store of the GEMM drivers' edge tiles (pixel panels
/// narrower than NR, rows past K) for <see cref="ConvGemm"/>'s packed path and <see cref="PointwiseConv"/>.
/// </summary>
internal static unsafe class EdgeStore
{
    /// <summary>The best mode this machine runs: masked AVX-512 steps, else 8-wide vectors with an AVX lane-masked tail.</summary>
    internal static EdgeStoreMode Best { get; } =
        Avx512F.IsSupported ? EdgeStoreMode.Masked512 : Avx2.IsSupported ? EdgeStoreMode.Vector256 : EdgeStoreMode.Scalar;

    /// <summary>
    /// How <see cref="ConvGemm.StoreEdge"/> stores (default <see cref="Best"/>; every mode gives the same bits: each element
    /// gets the same operations in the same order). Why: a 7x7 map's 49 pixels leave a 17-column edge in every MR-row
    /// panel and every KC slice, and the inverted-residual bands' pixel counts leave one in most bands; the scalar store
    /// (8 × 17 values through the epilogue's branches) cost about as much as the edge tile's multiply-adds
    /// (docs/performance.md, stop 17). Setting a mode the hardware lacks is refused. A run-time switch for A/B benchmarks
    /// (<c>onnx-plan-ab --switch vector-edges</c>) and tests.
    /// </summary>
    internal static EdgeStoreMode Mode
    {
        get => s_mode;
        set
        {
            if (value > Best) throw new ArgumentOutOfRangeException(nameof(value), value, $"EdgeStore: this machine supports up to {Best}");
            s_mode = value;
        }
    }

    private static EdgeStoreMode s_mode = Best;

    /// <summary>Whether edge tiles are stored on vectors: <see cref="Best"/> when set, <see cref="EdgeStoreMode.Scalar"/> when cleared.</summary>
    internal static bool Vectorized
    {
        get => s_mode != EdgeStoreMode.Scalar;
        set => s_mode = value ? Best : EdgeStoreMode.Scalar;
    }
    /// <summary>
    /// Rows [0, rows) by columns [0, cols) of the tile (row r at <c>tile + r·ldt</c>) to C:
    /// <c>v = (accumulate ? c + t : t) + b</c>, then <c>+ r</c>, then the ReLU and the upper clamp, as
    /// <see cref="ConvGemm.StoreEdge"/> does per element; nothing is read or written outside the mask. Requires
    /// <see cref="Avx512F.IsSupported"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Masked512(float* tile, int ldt, float* c, nint ldc, int rows, int cols, bool accumulate, float* bias, float* res, bool relu, float max)
    {
        var lane = Vector512.Create(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        var maxV = Vector512.Create(max);
        bool clamp = max < float.PositiveInfinity;
        for (int j = 0; j < cols; j += 16)
        {
            var mask = Vector512.LessThan(lane, Vector512.Create(cols - j)).AsSingle();
            for (int r = 0; r < rows; r++)
            {
                float* dst = c + r * ldc + j;
                var v = Avx512F.MaskLoad(tile + r * ldt + j, mask, Vector512<float>.Zero);
                if (accumulate) v = Avx512F.MaskLoad(dst, mask, Vector512<float>.Zero) + v;
                v += Vector512.Create(bias is null ? 0f : bias[r]);
                if (res is not null) v += Avx512F.MaskLoad(res + r * ldc + j, mask, Vector512<float>.Zero);
                if (relu) v = Vector512.ConditionalSelect(Vector512.LessThan(v, Vector512<float>.Zero), Vector512<float>.Zero, v);
                if (clamp) v = Vector512.ConditionalSelect(Vector512.GreaterThan(v, maxV), maxV, v);
                Avx512F.MaskStore(dst, mask, v);
            }
        }
    }
}

/// <summary>How <see cref="ConvGemm.StoreEdge"/> writes a tile's valid corner (see <see cref="EdgeStore.Mode"/>).</summary>
internal enum EdgeStoreMode
{
    /// <summary>One element at a time.</summary>
    Scalar = 0,

    /// <summary>8-wide vectors, the last 1-7 columns under an AVX lane mask (AVX2 machines).</summary>
    Vector256 = 1,

    /// <summary>16-wide masked AVX-512 steps.</summary>
    Masked512 = 2,
}
