using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace CnnSharp.Kernels.Direct;

/// <summary>
/// Fused batch-norm (as a per-channel affine map) + ReLU + 2x2/stride-2 max pooling over one blocked image, forward and
/// the two backward passes of training-mode batch norm, with the pooling argmax recomputed instead of stored. ReLU and
/// pooling are each optional (the overloads with <c>relu</c>/<c>pool</c> flags; the others do both), so the same kernels
/// serve every stage of a compiled conv chain: BN+ReLU+pool, BN+ReLU, BN alone, ReLU+pool, identity (scale 1, shift 0).
/// </summary>
/// <remarks>
/// <para>Layouts: the conv output y is [C/16][H][W][16]; the pooled output and its gradient are blocked
/// [C/16][H/2][W/2][16] (floor: an odd last row or column belongs to no window, as PyTorch's ceil_mode=False), or
/// [C/16][H][W][16] without pooling, with caller-chosen plane/row strides (pixel stride 16), so the forward pass can
/// write straight into the next conv's padded input.</para>
/// <para>Forward: z = y*scale + shift (one FMA, scale = gamma*invstd, shift = beta - mean*scale), out = max(0, max of the
/// 2x2 window of z). ReLU and max commute, so ReLU runs on the pooled value only.</para>
/// <para>Backward: the window's argmax is recomputed from y with the very same FMA, so it matches the forward pass bit
/// for bit; ties go to the first position in (row, column) order, as PyTorch's CPU max pooling (strict <c>&gt;</c> scan).
/// The gradient reaches the argmax only when the pooled value is positive (ReLU's mask), so per window
/// dz = g at the argmax if max z &gt; 0, else 0 everywhere. Pass A sums dz and dz*xhat per channel (xhat = (y-mean)*invstd);
/// pass B writes dx = A*dz + Cc*y + B for every position (dz = 0 outside every window), which is PyTorch's
/// dx = gamma*invstd*(dz - mean(dz) - xhat*mean(dz*xhat)) with the per-channel constants folded (see
/// <see cref="BackwardCoefficients"/>), and sums dx per channel (the conv bias gradient).</para>
/// </remarks>
internal static unsafe class BnReluPool
{
    /// <summary>Pooled output: dst[c][i][j] = max(0, max over a, b &lt; 2 of y[c][2i+a][2j+b]*scale[c] + shift[c]).</summary>
    public static void Forward(IsaLevel path, float* y, int blocks, int h, int w, float* scale, float* shift, float* dst, nint dstPlane, nint dstRow) =>
        Forward(path, relu: true, pool: true, y, blocks, h, w, scale, shift, dst, dstPlane, dstRow);

    /// <summary>
    /// dst = [max(0, ·)] [2x2 max of] (y*scale + shift), the ReLU and the pooling as <paramref name="relu"/> and
    /// <paramref name="pool"/> say.
    /// </summary>
    public static void Forward(IsaLevel path, bool relu, bool pool, float* y, int blocks, int h, int w, float* scale, float* shift, float* dst,
        nint dstPlane, nint dstRow)
    {
        switch (path)
        {
            case IsaLevel.V512: ForwardIsa<V512Ops, Vector512<float>>(relu, pool, y, blocks, h, w, scale, shift, dst, dstPlane, dstRow); break;
            case IsaLevel.V256: ForwardIsa<V256Ops, Vector256<float>>(relu, pool, y, blocks, h, w, scale, shift, dst, dstPlane, dstRow); break;
            case IsaLevel.V128: ForwardIsa<V128Ops, Vector128<float>>(relu, pool, y, blocks, h, w, scale, shift, dst, dstPlane, dstRow); break;
            default: ForwardIsa<ScalarOps, float>(relu, pool, y, blocks, h, w, scale, shift, dst, dstPlane, dstRow); break;
        }
    }

    /// <summary>
    /// Backward pass A: adds sum of dz into <paramref name="sumDz"/> and sum of dz*xhat into <paramref name="sumDzXhat"/>
    /// (C values each), where dz is the gradient at the BN output given the pooled gradient <paramref name="g"/>.
    /// </summary>
    public static void BackwardStats(IsaLevel path, float* y, int blocks, int h, int w, float* scale, float* shift, float* mean, float* invStd,
        float* g, nint gPlane, nint gRow, double* sumDz, double* sumDzXhat) =>
        BackwardStats(path, relu: true, pool: true, y, blocks, h, w, scale, shift, mean, invStd, g, gPlane, gRow, sumDz, sumDzXhat);

    /// <summary>Backward pass A with optional ReLU and pooling (as <see cref="Forward(IsaLevel, bool, bool, float*, int, int, int, float*, float*, float*, nint, nint)"/>).</summary>
    public static void BackwardStats(IsaLevel path, bool relu, bool pool, float* y, int blocks, int h, int w, float* scale, float* shift, float* mean,
        float* invStd, float* g, nint gPlane, nint gRow, double* sumDz, double* sumDzXhat)
    {
        switch (path)
        {
            case IsaLevel.V512: BackwardStatsIsa<V512Ops, Vector512<float>>(relu, pool, y, blocks, h, w, scale, shift, mean, invStd, g, gPlane, gRow, sumDz, sumDzXhat); break;
            case IsaLevel.V256: BackwardStatsIsa<V256Ops, Vector256<float>>(relu, pool, y, blocks, h, w, scale, shift, mean, invStd, g, gPlane, gRow, sumDz, sumDzXhat); break;
            case IsaLevel.V128: BackwardStatsIsa<V128Ops, Vector128<float>>(relu, pool, y, blocks, h, w, scale, shift, mean, invStd, g, gPlane, gRow, sumDz, sumDzXhat); break;
            default: BackwardStatsIsa<ScalarOps, float>(relu, pool, y, blocks, h, w, scale, shift, mean, invStd, g, gPlane, gRow, sumDz, sumDzXhat); break;
        }
    }

    /// <summary>
    /// Backward pass B: dx = A*dz + Cc*y + B at every position of y (blocked, written at <paramref name="dx"/> with the
    /// given strides), adding the per-channel sum of dx into <paramref name="sumDx"/>.
    /// </summary>
    public static void BackwardInput(IsaLevel path, float* y, int blocks, int h, int w, float* scale, float* shift, float* g, nint gPlane, nint gRow,
        float* coefA, float* coefB, float* coefC, float* dx, nint dxPlane, nint dxRow, double* sumDx) =>
        BackwardInput(path, relu: true, pool: true, y, blocks, h, w, scale, shift, g, gPlane, gRow, coefA, coefB, coefC, dx, dxPlane, dxRow, sumDx);

    /// <summary>Backward pass B with optional ReLU and pooling (as <see cref="Forward(IsaLevel, bool, bool, float*, int, int, int, float*, float*, float*, nint, nint)"/>).</summary>
    public static void BackwardInput(IsaLevel path, bool relu, bool pool, float* y, int blocks, int h, int w, float* scale, float* shift, float* g,
        nint gPlane, nint gRow, float* coefA, float* coefB, float* coefC, float* dx, nint dxPlane, nint dxRow, double* sumDx)
    {
        switch (path)
        {
            case IsaLevel.V512: BackwardInputIsa<V512Ops, Vector512<float>>(relu, pool, y, blocks, h, w, scale, shift, g, gPlane, gRow, coefA, coefB, coefC, dx, dxPlane, dxRow, sumDx); break;
            case IsaLevel.V256: BackwardInputIsa<V256Ops, Vector256<float>>(relu, pool, y, blocks, h, w, scale, shift, g, gPlane, gRow, coefA, coefB, coefC, dx, dxPlane, dxRow, sumDx); break;
            case IsaLevel.V128: BackwardInputIsa<V128Ops, Vector128<float>>(relu, pool, y, blocks, h, w, scale, shift, g, gPlane, gRow, coefA, coefB, coefC, dx, dxPlane, dxRow, sumDx); break;
            default: BackwardInputIsa<ScalarOps, float>(relu, pool, y, blocks, h, w, scale, shift, g, gPlane, gRow, coefA, coefB, coefC, dx, dxPlane, dxRow, sumDx); break;
        }
    }

    /// <summary>
    /// Per-channel constants of pass B from the batch sums: with m1 = sumDz/count and m2 = sumDzXhat/count,
    /// A = gamma*invstd, Cc = -A*invstd*m2, B = -A*m1 - Cc*mean, so that A*dz + Cc*y + B = A*(dz - m1 - xhat*m2).
    /// </summary>
    public static void BackwardCoefficients(ReadOnlySpan<float> gamma, ReadOnlySpan<float> mean, ReadOnlySpan<float> invStd,
        ReadOnlySpan<double> sumDz, ReadOnlySpan<double> sumDzXhat, double count, Span<float> coefA, Span<float> coefB, Span<float> coefC)
    {
        for (int c = 0; c < gamma.Length; c++)
        {
            double a = (double)gamma[c] * invStd[c];
            double cc = -a * invStd[c] * (sumDzXhat[c] / count);
            coefA[c] = (float)a;
            coefC[c] = (float)cc;
            coefB[c] = (float)(-a * (sumDz[c] / count) - cc * mean[c]);
        }
    }

    private static void ForwardIsa<TOps, TV>(bool relu, bool pool, float* y, int blocks, int h, int w, float* scale, float* shift, float* dst,
        nint dstPlane, nint dstRow) where TOps : struct, IVecOps<TV> where TV : struct
    {
        if (relu && pool) Forward<TOps, TV, Yes, Yes>(y, blocks, h, w, scale, shift, dst, dstPlane, dstRow);
        else if (relu) Forward<TOps, TV, Yes, No>(y, blocks, h, w, scale, shift, dst, dstPlane, dstRow);
        else if (pool) Forward<TOps, TV, No, Yes>(y, blocks, h, w, scale, shift, dst, dstPlane, dstRow);
        else Forward<TOps, TV, No, No>(y, blocks, h, w, scale, shift, dst, dstPlane, dstRow);
    }

    private static void BackwardStatsIsa<TOps, TV>(bool relu, bool pool, float* y, int blocks, int h, int w, float* scale, float* shift, float* mean,
        float* invStd, float* g, nint gPlane, nint gRow, double* sumDz, double* sumDzXhat) where TOps : struct, IVecOps<TV> where TV : struct
    {
        if (relu && pool) BackwardStats<TOps, TV, Yes, Yes>(y, blocks, h, w, scale, shift, mean, invStd, g, gPlane, gRow, sumDz, sumDzXhat);
        else if (relu) BackwardStats<TOps, TV, Yes, No>(y, blocks, h, w, scale, shift, mean, invStd, g, gPlane, gRow, sumDz, sumDzXhat);
        else if (pool) BackwardStats<TOps, TV, No, Yes>(y, blocks, h, w, scale, shift, mean, invStd, g, gPlane, gRow, sumDz, sumDzXhat);
        else BackwardStats<TOps, TV, No, No>(y, blocks, h, w, scale, shift, mean, invStd, g, gPlane, gRow, sumDz, sumDzXhat);
    }

    private static void BackwardInputIsa<TOps, TV>(bool relu, bool pool, float* y, int blocks, int h, int w, float* scale, float* shift, float* g,
        nint gPlane, nint gRow, float* coefA, float* coefB, float* coefC, float* dx, nint dxPlane, nint dxRow, double* sumDx)
        where TOps : struct, IVecOps<TV> where TV : struct
    {
        if (relu && pool) BackwardInput<TOps, TV, Yes, Yes>(y, blocks, h, w, scale, shift, g, gPlane, gRow, coefA, coefB, coefC, dx, dxPlane, dxRow, sumDx);
        else if (relu) BackwardInput<TOps, TV, Yes, No>(y, blocks, h, w, scale, shift, g, gPlane, gRow, coefA, coefB, coefC, dx, dxPlane, dxRow, sumDx);
        else if (pool) BackwardInput<TOps, TV, No, Yes>(y, blocks, h, w, scale, shift, g, gPlane, gRow, coefA, coefB, coefC, dx, dxPlane, dxRow, sumDx);
        else BackwardInput<TOps, TV, No, No>(y, blocks, h, w, scale, shift, g, gPlane, gRow, coefA, coefB, coefC, dx, dxPlane, dxRow, sumDx);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Forward<TOps, TV, TRelu, TPool>(float* y, int blocks, int h, int w, float* scale, float* shift, float* dst, nint dstPlane, nint dstRow)
        where TOps : struct, IVecOps<TV> where TV : struct where TRelu : struct, IFlag where TPool : struct, IFlag
    {
        int ph = TPool.Value ? h / 2 : h, pw = TPool.Value ? w / 2 : w;
        nint row = w * 16, plane = h * row;
        TV zero = TOps.Zero;
        for (int cb = 0; cb < blocks; cb++)
            for (int c = 0; c < 16; c += TOps.Lanes)
            {
                TV sc = TOps.Load(scale + cb * 16 + c), sh = TOps.Load(shift + cb * 16 + c);
                for (int i = 0; i < ph; i++)
                {
                    float* d = dst + cb * dstPlane + i * dstRow + c;
                    if (TPool.Value)
                    {
                        float* r0 = y + cb * plane + 2 * i * row + c;
                        float* r1 = r0 + row;
                        for (int j = 0; j < pw; j++, r0 += 32, r1 += 32, d += 16)
                        {
                            TV z0 = TOps.Fma(TOps.Load(r0), sc, sh), z1 = TOps.Fma(TOps.Load(r0 + 16), sc, sh);
                            TV z2 = TOps.Fma(TOps.Load(r1), sc, sh), z3 = TOps.Fma(TOps.Load(r1 + 16), sc, sh);
                            TV m = TOps.Max(TOps.Max(z0, z1), TOps.Max(z2, z3));
                            TOps.Store(d, TRelu.Value ? TOps.Max(m, zero) : m);
                        }
                    }
                    else
                    {
                        float* r = y + cb * plane + i * row + c;
                        for (int j = 0; j < pw; j++, r += 16, d += 16)
                        {
                            TV z = TOps.Fma(TOps.Load(r), sc, sh);
                            TOps.Store(d, TRelu.Value ? TOps.Max(z, zero) : z);
                        }
                    }
                }
            }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void BackwardStats<TOps, TV, TRelu, TPool>(float* y, int blocks, int h, int w, float* scale, float* shift, float* mean, float* invStd,
        float* g, nint gPlane, nint gRow, double* sumDz, double* sumDzXhat)
        where TOps : struct, IVecOps<TV> where TV : struct where TRelu : struct, IFlag where TPool : struct, IFlag
    {
        int ph = TPool.Value ? h / 2 : h, pw = TPool.Value ? w / 2 : w;
        nint row = w * 16, plane = h * row;
        TV zero = TOps.Zero;
        float* tmp = stackalloc float[32];
        for (int cb = 0; cb < blocks; cb++)
            for (int c = 0; c < 16; c += TOps.Lanes)
            {
                int ch = cb * 16 + c;
                TV sc = TOps.Load(scale + ch), sh = TOps.Load(shift + ch), mu = TOps.Load(mean + ch), istd = TOps.Load(invStd + ch);
                TV accG = zero, accGx = zero;
                for (int i = 0; i < ph; i++)
                {
                    float* gp = g + cb * gPlane + i * gRow + c;
                    if (TPool.Value)
                    {
                        float* r0 = y + cb * plane + 2 * i * row + c;
                        float* r1 = r0 + row;
                        for (int j = 0; j < pw; j++, r0 += 32, r1 += 32, gp += 16)
                        {
                            TV y0 = TOps.Load(r0), y1 = TOps.Load(r0 + 16), y2 = TOps.Load(r1), y3 = TOps.Load(r1 + 16);
                            TV z0 = TOps.Fma(y0, sc, sh), z1 = TOps.Fma(y1, sc, sh), z2 = TOps.Fma(y2, sc, sh), z3 = TOps.Fma(y3, sc, sh);
                            TV m = TOps.Max(TOps.Max(z0, z1), TOps.Max(z2, z3));
                            TV gv = TRelu.Value ? TOps.And(TOps.Load(gp), TOps.Greater(m, zero)) : TOps.Load(gp);
                            TV ysel = TOps.Select(TOps.Equal(z0, m), y0, TOps.Select(TOps.Equal(z1, m), y1, TOps.Select(TOps.Equal(z2, m), y2, y3)));
                            accG = TOps.Add(accG, gv);
                            accGx = TOps.Fma(gv, TOps.Mul(TOps.Sub(ysel, mu), istd), accGx);
                        }
                    }
                    else
                    {
                        float* r = y + cb * plane + i * row + c;
                        for (int j = 0; j < pw; j++, r += 16, gp += 16)
                        {
                            TV y0 = TOps.Load(r);
                            TV gv = TRelu.Value ? TOps.And(TOps.Load(gp), TOps.Greater(TOps.Fma(y0, sc, sh), zero)) : TOps.Load(gp);
                            accG = TOps.Add(accG, gv);
                            accGx = TOps.Fma(gv, TOps.Mul(TOps.Sub(y0, mu), istd), accGx);
                        }
                    }
                }
                TOps.Store(tmp, accG);
                TOps.Store(tmp + 16, accGx);
                for (int l = 0; l < TOps.Lanes; l++)
                {
                    sumDz[ch + l] += tmp[l];
                    sumDzXhat[ch + l] += tmp[16 + l];
                }
            }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void BackwardInput<TOps, TV, TRelu, TPool>(float* y, int blocks, int h, int w, float* scale, float* shift, float* g, nint gPlane, nint gRow,
        float* coefA, float* coefB, float* coefC, float* dx, nint dxPlane, nint dxRow, double* sumDx)
        where TOps : struct, IVecOps<TV> where TV : struct where TRelu : struct, IFlag where TPool : struct, IFlag
    {
        int ph = TPool.Value ? h / 2 : h, pw = TPool.Value ? w / 2 : w;
        nint row = w * 16, plane = h * row;
        TV zero = TOps.Zero;
        float* tmp = stackalloc float[16];
        for (int cb = 0; cb < blocks; cb++)
            for (int c = 0; c < 16; c += TOps.Lanes)
            {
                int ch = cb * 16 + c;
                TV sc = TOps.Load(scale + ch), sh = TOps.Load(shift + ch);
                TV ca = TOps.Load(coefA + ch), cbv = TOps.Load(coefB + ch), cc = TOps.Load(coefC + ch);
                TV acc = zero;
                float* yb = y + cb * plane + c;
                float* db = dx + cb * dxPlane + c;
                for (int i = 0; i < ph; i++)
                {
                    float* gp = g + cb * gPlane + i * gRow + c;
                    if (TPool.Value)
                    {
                        float* r0 = yb + 2 * i * row;
                        float* r1 = r0 + row;
                        float* d0 = db + 2 * i * dxRow;
                        float* d1 = d0 + dxRow;
                        for (int j = 0; j < pw; j++, r0 += 32, r1 += 32, gp += 16, d0 += 32, d1 += 32)
                        {
                            TV y0 = TOps.Load(r0), y1 = TOps.Load(r0 + 16), y2 = TOps.Load(r1), y3 = TOps.Load(r1 + 16);
                            TV z0 = TOps.Fma(y0, sc, sh), z1 = TOps.Fma(y1, sc, sh), z2 = TOps.Fma(y2, sc, sh), z3 = TOps.Fma(y3, sc, sh);
                            TV m = TOps.Max(TOps.Max(z0, z1), TOps.Max(z2, z3));
                            TV gv = TRelu.Value ? TOps.And(TOps.Load(gp), TOps.Greater(m, zero)) : TOps.Load(gp);
                            // First-max masks in scan order: e1 excludes e0, e2 excludes both, e3 the rest.
                            TV e0 = TOps.Equal(z0, m);
                            TV e1 = TOps.AndNot(TOps.Equal(z1, m), e0);
                            TV e01 = TOps.Or(e0, e1);
                            TV e2 = TOps.AndNot(TOps.Equal(z2, m), e01);
                            TV e3 = TOps.AndNot(TOps.Equal(z3, m), TOps.Or(e01, e2));
                            TV x0 = TOps.Fma(ca, TOps.And(gv, e0), TOps.Fma(cc, y0, cbv));
                            TV x1 = TOps.Fma(ca, TOps.And(gv, e1), TOps.Fma(cc, y1, cbv));
                            TV x2 = TOps.Fma(ca, TOps.And(gv, e2), TOps.Fma(cc, y2, cbv));
                            TV x3 = TOps.Fma(ca, TOps.And(gv, e3), TOps.Fma(cc, y3, cbv));
                            TOps.Store(d0, x0);
                            TOps.Store(d0 + 16, x1);
                            TOps.Store(d1, x2);
                            TOps.Store(d1 + 16, x3);
                            acc = TOps.Add(acc, TOps.Add(TOps.Add(x0, x1), TOps.Add(x2, x3)));
                        }
                    }
                    else
                    {
                        float* r = yb + i * row;
                        float* d = db + i * dxRow;
                        for (int j = 0; j < pw; j++, r += 16, gp += 16, d += 16)
                        {
                            TV y0 = TOps.Load(r);
                            TV gv = TRelu.Value ? TOps.And(TOps.Load(gp), TOps.Greater(TOps.Fma(y0, sc, sh), zero)) : TOps.Load(gp);
                            TV x0 = TOps.Fma(ca, gv, TOps.Fma(cc, y0, cbv));
                            TOps.Store(d, x0);
                            acc = TOps.Add(acc, x0);
                        }
                    }
                }
                if (TPool.Value)
                {
                    // Floor pooling: an odd last column and row belong to no window (dz = 0 there).
                    if ((w & 1) != 0)
                        for (int i = 0; i < 2 * ph; i++)
                        {
                            TV x0 = TOps.Fma(cc, TOps.Load(yb + i * row + (w - 1) * 16), cbv);
                            TOps.Store(db + i * dxRow + (w - 1) * 16, x0);
                            acc = TOps.Add(acc, x0);
                        }
                    if ((h & 1) != 0)
                        for (int j = 0; j < w; j++)
                        {
                            TV x0 = TOps.Fma(cc, TOps.Load(yb + (h - 1) * row + j * 16), cbv);
                            TOps.Store(db + (h - 1) * dxRow + j * 16, x0);
                            acc = TOps.Add(acc, x0);
                        }
                }
                TOps.Store(tmp, acc);
                for (int l = 0; l < TOps.Lanes; l++) sumDx[ch + l] += tmp[l];
            }
    }
}
