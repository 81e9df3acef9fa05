using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

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

    /// <summary>
    /// Whether the epilogue's ReLU and upper clamp are one <c>vmaxps</c> / <c>vminps</c> each (zero or the bound as the first
    /// operand) instead of a compare and a blend (default true). The same bits: <c>max(0, v)</c> is <c>0 &gt; v ? 0 : v</c> and
    /// <c>min(m, v)</c> is <c>m &lt; v ? m : v</c> on x86, lane for lane the selects they replace (NaN and −0 pass through
    /// alike). Why: with a short k (features.2's 16 input channels) the tile's 16 k-steps take 128 FMA cycles and the
    /// epilogue's compares and blends another ~20. A run-time switch for A/B benchmarks (<c>onnx-plan-ab --switch minmax-clamp</c>).
    /// </summary>
    internal static bool MinMaxClamp { get; set; } = true;

    /// <summary>The epilogue of <paramref name="e"/> applied to the 8 rows of an 8x32 tile, then stored.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreEpilogue512x8(float* c, nint ldc, TileEpilogue* e, Vector512<float> c00, Vector512<float> c01, Vector512<float> c10,
        Vector512<float> c11, Vector512<float> c20, Vector512<float> c21, Vector512<float> c30, Vector512<float> c31, Vector512<float> c40,
        Vector512<float> c41, Vector512<float> c50, Vector512<float> c51, Vector512<float> c60, Vector512<float> c61, Vector512<float> c70,
        Vector512<float> c71)
    {
        if (!MinMaxClamp || !Avx512F.IsSupported)
        {
            StoreEpilogue512(c, ldc, 0, c00, c01, e);
            StoreEpilogue512(c, ldc, 1, c10, c11, e);
            StoreEpilogue512(c, ldc, 2, c20, c21, e);
            StoreEpilogue512(c, ldc, 3, c30, c31, e);
            StoreEpilogue512(c, ldc, 4, c40, c41, e);
            StoreEpilogue512(c, ldc, 5, c50, c51, e);
            StoreEpilogue512(c, ldc, 6, c60, c61, e);
            StoreEpilogue512(c, ldc, 7, c70, c71, e);
            return;
        }
        // The epilogue's fields read once into locals (the stores could alias them as far as the JIT knows).
        var k = new Clamp512(e);
        k.Store(c, ldc, 0, c00, c01);
        k.Store(c, ldc, 1, c10, c11);
        k.Store(c, ldc, 2, c20, c21);
        k.Store(c, ldc, 3, c30, c31);
        k.Store(c, ldc, 4, c40, c41);
        k.Store(c, ldc, 5, c50, c51);
        k.Store(c, ldc, 6, c60, c61);
        k.Store(c, ldc, 7, c70, c71);
    }

    /// <summary>A <see cref="TileEpilogue"/> held in locals, its clamps as <c>vmaxps</c> / <c>vminps</c> (<see cref="MinMaxClamp"/>).</summary>
    private readonly ref struct Clamp512(TileEpilogue* e)
    {
        private readonly float* _bias = e->Bias, _residual = e->Residual;
        private readonly bool _relu = e->Relu, _clamp = e->Max < float.PositiveInfinity;
        private readonly Vector512<float> _max = Vector512.Create(e->Max);

        /// <summary>Row <paramref name="r"/> (two vectors): <c>min(max?(0, (v + b) + res), m)</c>, stored.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Store(float* c, nint ldc, int r, Vector512<float> v0, Vector512<float> v1)
        {
            // +0 without a bias, as ConvGemm.Epilogue adds (it turns −0 into +0).
            var bv = _bias is null ? Vector512<float>.Zero : Vector512.Create(_bias[r]);
            v0 += bv;
            v1 += bv;
            if (_residual is not null)
            {
                float* res = _residual + r * ldc;
                v0 += Vector512.Load(res);
                v1 += Vector512.Load(res + 16);
            }
            if (_relu)
            {
                v0 = Avx512F.Max(Vector512<float>.Zero, v0);
                v1 = Avx512F.Max(Vector512<float>.Zero, v1);
            }
            if (_clamp)
            {
                v0 = Avx512F.Min(_max, v0);
                v1 = Avx512F.Min(_max, v1);
            }
            v0.Store(c + r * ldc);
            v1.Store(c + r * ldc + 16);
        }
    }

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
