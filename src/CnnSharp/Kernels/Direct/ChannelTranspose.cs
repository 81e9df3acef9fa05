using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace CnnSharp.Kernels.Direct;

/// <summary>
/// Moves one 16-channel block of pixels between channel-major rows (PyTorch's (C, H, W): one row per channel,
/// <c>channelStride</c> floats apart, pixels <c>step</c> floats apart) and the blocked layout's pixels of 16 consecutive
/// floats: the inner loop of every NCHW ↔ blocked conversion (<see cref="BlockedLayout"/>, the strided convolutions'
/// phase images).
/// </summary>
/// <remarks>
/// <para>The vector path transposes 8x8 tiles in 256-bit registers (AVX: unpack, shuffle, lane permute), so each
/// channel row is read and each blocked pixel written with whole vectors, where the scalar loop touches one float
/// per access 64 bytes apart. A step of 2 (a stride-2 phase: every other input column) is gathered from two loads by one
/// shuffle, and scattered back by blending into the destination row, so the other phase's columns keep their bits.</para>
/// <para>Only data movement and (when accumulating) one float addition per element, in both paths: every path gives the
/// same bits, so the choice never affects results.</para>
/// </remarks>
internal static unsafe class ChannelTranspose
{
    /// <summary>Whether the conversions use the vector path where the CPU has AVX (default on; off for benchmarks' A/B).</summary>
    public static bool Enabled { get; set; } = true;

    /// <summary>The path the conversions take by default: vectors when <see cref="Enabled"/> and AVX is supported.</summary>
    public static bool Vectorised => Enabled && Avx.IsSupported;

    /// <summary>
    /// <c>dst[j·16 + c] = src[c·channelStride + j·step]</c> (or <c>+=</c> with <paramref name="accumulate"/>) for the 16
    /// channels c and pixels j &lt; <paramref name="count"/>; <paramref name="step"/> 1 or 2 takes the vector path when
    /// <paramref name="vector"/> (and AVX is supported), any other step the scalar loop. Reads only the floats named.
    /// </summary>
    public static void ToBlocked(float* src, long channelStride, int step, float* dst, int count, bool accumulate, bool vector)
    {
        int j = 0;
        if (vector && Avx.IsSupported && (step == 1 || step == 2) && count >= 8)
        {
            for (; j + 8 <= count; j += 8) ToBlocked8(src + (long)j * step, channelStride, step, dst + j * 16, accumulate);
            // A tail that only overwrites: the last eight pixels again (overlap rewrites equal values).
            if (j < count && !accumulate)
            {
                ToBlocked8(src + (long)(count - 8) * step, channelStride, step, dst + (count - 8) * 16, accumulate: false);
                return;
            }
        }
        for (int c = 0; c < 16; c++)
        {
            float* s = src + c * channelStride;
            float* d = dst + c;
            if (accumulate) for (int i = j; i < count; i++) d[i * 16] += s[(long)i * step];
            else for (int i = j; i < count; i++) d[i * 16] = s[(long)i * step];
        }
    }

    /// <summary>
    /// <c>dst[c·channelStride + j·step] = src[j·16 + c]</c> (or <c>+=</c> with <paramref name="accumulate"/>) for the 16
    /// channels c and pixels j &lt; <paramref name="count"/>; other floats of <paramref name="dst"/> keep their bits (with
    /// step 2 the vector path rewrites the skipped columns between the pixels with their own values).
    /// </summary>
    public static void FromBlocked(float* src, float* dst, long channelStride, int step, int count, bool accumulate, bool vector)
    {
        int j = 0;
        if (vector && Avx.IsSupported && (step == 1 || step == 2) && count >= 8)
        {
            for (; j + 8 <= count; j += 8) FromBlocked8(src + j * 16, dst + (long)j * step, channelStride, step, accumulate);
            if (j < count && !accumulate)
            {
                FromBlocked8(src + (count - 8) * 16, dst + (long)(count - 8) * step, channelStride, step, accumulate: false);
                return;
            }
        }
        for (int c = 0; c < 16; c++)
        {
            float* s = src + c;
            float* d = dst + c * channelStride;
            if (accumulate) for (int i = j; i < count; i++) d[(long)i * step] += s[i * 16];
            else for (int i = j; i < count; i++) d[(long)i * step] = s[i * 16];
        }
    }

    /// <summary>
    /// <c>dst[c·channelStride + 2j] += even[j·16 + c]</c> and <c>dst[c·channelStride + 2j + 1] += odd[j·16 + c]</c> for the
    /// 16 channels c and pixels j &lt; <paramref name="pixels"/> (a multiple of 8): two stride-2 column phases added into
    /// the same channel rows in one pass (AVX only). Each float gets the one addition <see cref="FromBlocked"/> with step 2
    /// gives it, so the bits are the same as two such calls.
    /// </summary>
    /// <remarks>Why: two step-2 passes read and write every destination row twice, and each 8-pixel store is blended into
    /// two overlapping vectors (the second load hits the first store); interleaved, each row is loaded and stored once in
    /// whole, disjoint vectors.</remarks>
    public static void AddFromBlockedInterleaved(float* even, float* odd, float* dst, long channelStride, int pixels)
    {
        Debug.Assert(Avx.IsSupported && pixels % 8 == 0);
        for (int j = 0; j < pixels; j += 8)
            for (int half = 0; half < 2; half++)
            {
                // Pixels loaded in Order (0, 1, 4, 5, 2, 3, 6, 7): one in-lane unpack of the two phases then gives 8
                // consecutive columns (pixels 0-3 of both phases in the low unpack, 4-7 in the high one).
                Vector256<float> e0, e1, e2, e3, e4, e5, e6, e7, o0, o1, o2, o3, o4, o5, o6, o7;
                LoadTile(even + j * 16 + half * 8, out e0, out e1, out e2, out e3, out e4, out e5, out e6, out e7);
                LoadTile(odd + j * 16 + half * 8, out o0, out o1, out o2, out o3, out o4, out o5, out o6, out o7);
                float* d = dst + half * 8 * channelStride + 2L * j;
                AddInterleaved(d, e0, o0);
                AddInterleaved(d + channelStride, e1, o1);
                AddInterleaved(d + 2 * channelStride, e2, o2);
                AddInterleaved(d + 3 * channelStride, e3, o3);
                AddInterleaved(d + 4 * channelStride, e4, o4);
                AddInterleaved(d + 5 * channelStride, e5, o5);
                AddInterleaved(d + 6 * channelStride, e6, o6);
                AddInterleaved(d + 7 * channelStride, e7, o7);
            }
    }

    // Eight blocked pixels (8 channels each, in step 2's Order) transposed: r_k holds channel k's eight values.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void LoadTile(float* s, out Vector256<float> r0, out Vector256<float> r1, out Vector256<float> r2, out Vector256<float> r3,
        out Vector256<float> r4, out Vector256<float> r5, out Vector256<float> r6, out Vector256<float> r7)
    {
        r0 = Avx.LoadVector256(s + Order(0, 2) * 16);
        r1 = Avx.LoadVector256(s + Order(1, 2) * 16);
        r2 = Avx.LoadVector256(s + Order(2, 2) * 16);
        r3 = Avx.LoadVector256(s + Order(3, 2) * 16);
        r4 = Avx.LoadVector256(s + Order(4, 2) * 16);
        r5 = Avx.LoadVector256(s + Order(5, 2) * 16);
        r6 = Avx.LoadVector256(s + Order(6, 2) * 16);
        r7 = Avx.LoadVector256(s + Order(7, 2) * 16);
        Transpose(ref r0, ref r1, ref r2, ref r3, ref r4, ref r5, ref r6, ref r7);
    }

    // Sixteen consecutive floats of one channel row += the two phases' eight values each, alternating.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddInterleaved(float* d, Vector256<float> e, Vector256<float> o)
    {
        Avx.Store(d, Avx.Add(Avx.LoadVector256(d), Avx.UnpackLow(e, o)));
        Avx.Store(d + 8, Avx.Add(Avx.LoadVector256(d + 8), Avx.UnpackHigh(e, o)));
    }

    // Step 2 loads (or stores) pixels in the order 0, 1, 4, 5, 2, 3, 6, 7 (what one in-lane shuffle of two loads gives);
    // tile row k is pixel Order(k).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Order(int k, int step) => step == 1 ? k : (k & 1) | ((k & 2) << 1) | ((k & 4) >> 1);

    // Eight pixels, both 8-channel halves.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ToBlocked8(float* src, long channelStride, int step, float* dst, bool accumulate)
    {
        for (int half = 0; half < 2; half++)
        {
            float* s = src + half * 8 * channelStride;
            Vector256<float> r0 = LoadRow(s, step), r1 = LoadRow(s + channelStride, step), r2 = LoadRow(s + 2 * channelStride, step),
                r3 = LoadRow(s + 3 * channelStride, step), r4 = LoadRow(s + 4 * channelStride, step), r5 = LoadRow(s + 5 * channelStride, step),
                r6 = LoadRow(s + 6 * channelStride, step), r7 = LoadRow(s + 7 * channelStride, step);
            Transpose(ref r0, ref r1, ref r2, ref r3, ref r4, ref r5, ref r6, ref r7);
            float* d = dst + half * 8;
            StorePixel(d + Order(0, step) * 16, r0, accumulate);
            StorePixel(d + Order(1, step) * 16, r1, accumulate);
            StorePixel(d + Order(2, step) * 16, r2, accumulate);
            StorePixel(d + Order(3, step) * 16, r3, accumulate);
            StorePixel(d + Order(4, step) * 16, r4, accumulate);
            StorePixel(d + Order(5, step) * 16, r5, accumulate);
            StorePixel(d + Order(6, step) * 16, r6, accumulate);
            StorePixel(d + Order(7, step) * 16, r7, accumulate);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void FromBlocked8(float* src, float* dst, long channelStride, int step, bool accumulate)
    {
        for (int half = 0; half < 2; half++)
        {
            float* s = src + half * 8;
            Vector256<float> r0 = Avx.LoadVector256(s + Order(0, step) * 16), r1 = Avx.LoadVector256(s + Order(1, step) * 16),
                r2 = Avx.LoadVector256(s + Order(2, step) * 16), r3 = Avx.LoadVector256(s + Order(3, step) * 16),
                r4 = Avx.LoadVector256(s + Order(4, step) * 16), r5 = Avx.LoadVector256(s + Order(5, step) * 16),
                r6 = Avx.LoadVector256(s + Order(6, step) * 16), r7 = Avx.LoadVector256(s + Order(7, step) * 16);
            Transpose(ref r0, ref r1, ref r2, ref r3, ref r4, ref r5, ref r6, ref r7);
            float* d = dst + half * 8 * channelStride;
            StoreRow(d, r0, step, accumulate);
            StoreRow(d + channelStride, r1, step, accumulate);
            StoreRow(d + 2 * channelStride, r2, step, accumulate);
            StoreRow(d + 3 * channelStride, r3, step, accumulate);
            StoreRow(d + 4 * channelStride, r4, step, accumulate);
            StoreRow(d + 5 * channelStride, r5, step, accumulate);
            StoreRow(d + 6 * channelStride, r6, step, accumulate);
            StoreRow(d + 7 * channelStride, r7, step, accumulate);
        }
    }

    // Eight pixels of one channel row: contiguous, or (step 2) s[0], s[2], ..., s[14] in Order: the second load starts at
    // s + 7 so nothing past s[14] is read.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> LoadRow(float* s, int step) => step == 1
        ? Avx.LoadVector256(s)
        : Avx.Shuffle(Avx.LoadVector256(s), Avx.LoadVector256(s + 7), 0b11_01_10_00);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StorePixel(float* d, Vector256<float> v, bool accumulate) =>
        Avx.Store(d, accumulate ? Avx.Add(Avx.LoadVector256(d), v) : v);

    // v's eight pixels (in Order for step 2) into one channel row. Step 2: even floats d[0..6] from lanes 0, 1, 4, 5 (the
    // pixels 0-3), then d[8..14] as the odd floats of the vector at d + 7 from lanes 2, 3, 6, 7; the blends keep the
    // floats in between, and the second load follows the first store (they share d[7]).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow(float* d, Vector256<float> v, int step, bool accumulate)
    {
        if (step == 1)
        {
            Avx.Store(d, accumulate ? Avx.Add(Avx.LoadVector256(d), v) : v);
            return;
        }
        var old = Avx.LoadVector256(d);
        var low = Avx.UnpackLow(v, v);
        Avx.Store(d, Avx.Blend(old, accumulate ? Avx.Add(old, low) : low, 0b0101_0101));
        old = Avx.LoadVector256(d + 7);
        var high = Avx.UnpackHigh(v, v);
        Avx.Store(d + 7, Avx.Blend(old, accumulate ? Avx.Add(old, high) : high, 0b1010_1010));
    }

    // In-register 8x8 transpose: row k's element i ends in row i's element k.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose(ref Vector256<float> r0, ref Vector256<float> r1, ref Vector256<float> r2, ref Vector256<float> r3,
        ref Vector256<float> r4, ref Vector256<float> r5, ref Vector256<float> r6, ref Vector256<float> r7)
    {
        Vector256<float> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1), t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3),
            t4 = Avx.UnpackLow(r4, r5), t5 = Avx.UnpackHigh(r4, r5), t6 = Avx.UnpackLow(r6, r7), t7 = Avx.UnpackHigh(r6, r7);
        Vector256<float> s0 = Avx.Shuffle(t0, t2, 0x44), s1 = Avx.Shuffle(t0, t2, 0xEE), s2 = Avx.Shuffle(t1, t3, 0x44), s3 = Avx.Shuffle(t1, t3, 0xEE),
            s4 = Avx.Shuffle(t4, t6, 0x44), s5 = Avx.Shuffle(t4, t6, 0xEE), s6 = Avx.Shuffle(t5, t7, 0x44), s7 = Avx.Shuffle(t5, t7, 0xEE);
        r0 = Avx.Permute2x128(s0, s4, 0x20);
        r1 = Avx.Permute2x128(s1, s5, 0x20);
        r2 = Avx.Permute2x128(s2, s6, 0x20);
        r3 = Avx.Permute2x128(s3, s7, 0x20);
        r4 = Avx.Permute2x128(s0, s4, 0x31);
        r5 = Avx.Permute2x128(s1, s5, 0x31);
        r6 = Avx.Permute2x128(s2, s6, 0x31);
        r7 = Avx.Permute2x128(s3, s7, 0x31);
    }
}
