using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace CnnSharp.Kernels;

// The 8x32 Vector512 tile with ConvGemm's epilogue applied in registers, for GEMMs whose depth fits one KC slice (the
// tile is then final after its k loop): every 1x1 expansion of MobileNet-v2 and the projections up to 192 channels.
internal static unsafe partial class Gemm
{
    /// <summary>
    /// Whether <see cref="PointwiseConv"/> runs one-slice full 8x32 tiles through <see cref="StridedEpilogueKernel"/>
    /// (default true; the same bits: the sums are the tile's, and bias, residual, ReLU and clamp are ConvGemm.Epilogue's
    /// lane-wise operations in its order). Why: with a short k (features.2's expansion has 16 input channels) storing the
    /// tile and re-reading it for the epilogue costs a large share of the tile's 16 k-steps. A run-time switch for A/B
    /// benchmarks (<c>onnx-plan-ab --switch fused-epilogue</c>).
    /// </summary>
    internal static bool FusedEpilogue { get; set; } = true;

    /// <summary>The epilogue of one tile: <c>c = min(relu?((acc + bias[r]) + res[r·ldc + j]), max)</c>.</summary>
    internal struct TileEpilogue
    {
        /// <summary>The tile's 8 bias values, or null (+0).</summary>
        public float* Bias;

        /// <summary>The residual tile at C's leading dimension, or null.</summary>
        public float* Residual;

        /// <summary>Clamp at zero.</summary>
        public bool Relu;

        /// <summary>Upper clamp, +∞ for none.</summary>
        public float Max;
    }

    /// <summary>
    /// The strided 8x32 tile with a <see cref="TileEpilogue"/> applied before its store (the tile overwrites C), or null
    /// where <paramref name="level"/> has no such kernel (all but V512).
    /// </summary>
    internal static delegate*<int, float*, float*, nint, float*, nint, TileEpilogue*, void> StridedEpilogueKernel(IsaLevel level) =>
        level == IsaLevel.V512 && FusedEpilogue ? &StridedKernel8x32V512Epilogue : null;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void StridedKernel8x32V512Epilogue(int kc, float* a, float* b, nint ldb, float* c, nint ldc, TileEpilogue* epilogue) =>
        Tile8x32V512(kc, a, b, ldb, c, ldc, false, epilogue);

    /// <summary>Row <paramref name="r"/> of the tile (two vectors) through the epilogue, then stored.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreEpilogue512(float* c, nint ldc, int r, Vector512<float> v0, Vector512<float> v1, TileEpilogue* e)
    {
        var bv = Vector512.Create(e->Bias is null ? 0f : e->Bias[r]);
        v0 += bv;
        v1 += bv;
        if (e->Residual is not null)
        {
            float* res = e->Residual + r * ldc;
            v0 += Vector512.Load(res);
            v1 += Vector512.Load(res + 16);
        }
        if (e->Relu)
        {
            v0 = Vector512.ConditionalSelect(Vector512.LessThan(v0, Vector512<float>.Zero), Vector512<float>.Zero, v0);
            v1 = Vector512.ConditionalSelect(Vector512.LessThan(v1, Vector512<float>.Zero), Vector512<float>.Zero, v1);
        }
        if (e->Max < float.PositiveInfinity)
        {
            var mv = Vector512.Create(e->Max);
            v0 = Vector512.ConditionalSelect(Vector512.GreaterThan(v0, mv), mv, v0);
            v1 = Vector512.ConditionalSelect(Vector512.GreaterThan(v1, mv), mv, v1);
        }
        v0.Store(c + r * ldc);
        v1.Store(c + r * ldc + 16);
    }
}
