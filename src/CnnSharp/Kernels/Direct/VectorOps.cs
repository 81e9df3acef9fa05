using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace CnnSharp.Kernels.Direct;

/// <summary>
/// The handful of SIMD operations the direct kernels need, as static abstract members so one generic kernel body is
/// specialised by the JIT for each vector width (<see cref="ScalarOps"/>, <see cref="V128Ops"/>, <see cref="V256Ops"/>,
/// <see cref="V512Ops"/>). Every member is a single instruction (or a short fixed sequence) once inlined.
/// </summary>
/// <remarks>
/// Comparison results are masks in the vector type itself (all bits set or clear per lane), as in the
/// <c>Vector256.Equals</c> family; the scalar flavour represents them with the same bit patterns in a float.
/// <c>MultiplyAddEstimate</c> is a fused multiply-add wherever the hardware has one (FMA3, AVX-512, NEON) and a
/// multiply then add elsewhere; never the slow software-exact fused operation.
/// </remarks>
internal unsafe interface IVecOps<TV> where TV : struct
{
    /// <summary>Floats per vector.</summary>
    static abstract int Lanes { get; }

    /// <summary>All lanes zero.</summary>
    static abstract TV Zero { get; }

    /// <summary>Loads <see cref="Lanes"/> floats (any alignment).</summary>
    static abstract TV Load(float* p);

    /// <summary>Stores <see cref="Lanes"/> floats (any alignment).</summary>
    static abstract void Store(float* p, TV v);

    /// <summary>All lanes set to <c>*p</c> (one <c>vbroadcastss</c> from memory).</summary>
    static abstract TV Broadcast(float* p);

    /// <summary>All lanes set to <paramref name="x"/>.</summary>
    static abstract TV Splat(float x);

    /// <summary><c>a * b + c</c>, fused where the hardware has FMA.</summary>
    static abstract TV Fma(TV a, TV b, TV c);

    /// <summary>Lane-wise sum.</summary>
    static abstract TV Add(TV a, TV b);

    /// <summary>Lane-wise difference.</summary>
    static abstract TV Sub(TV a, TV b);

    /// <summary>Lane-wise product.</summary>
    static abstract TV Mul(TV a, TV b);

    /// <summary>Lane-wise maximum (NaN handling as the hardware's max instruction).</summary>
    static abstract TV Max(TV a, TV b);

    /// <summary>Mask of lanes where <c>a == b</c>.</summary>
    static abstract TV Equal(TV a, TV b);

    /// <summary>Mask of lanes where <c>a &gt; b</c>.</summary>
    static abstract TV Greater(TV a, TV b);

    /// <summary>Bitwise and.</summary>
    static abstract TV And(TV a, TV b);

    /// <summary>Bitwise <c>a &amp; ~b</c>.</summary>
    static abstract TV AndNot(TV a, TV b);

    /// <summary>Bitwise or.</summary>
    static abstract TV Or(TV a, TV b);

    /// <summary>Lane-wise <c>mask ? a : b</c> for a mask produced by a comparison.</summary>
    static abstract TV Select(TV mask, TV a, TV b);
}

/// <summary>Portable scalar flavour (one lane): the fallback where no SIMD is accelerated, and a second oracle.</summary>
internal readonly unsafe struct ScalarOps : IVecOps<float>
{
    public static int Lanes => 1;
    public static float Zero => 0f;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Load(float* p) => *p;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(float* p, float v) => *p = v;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Broadcast(float* p) => *p;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Splat(float x) => x;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Fma(float a, float b, float c) => float.MultiplyAddEstimate(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Add(float a, float b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sub(float a, float b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Mul(float a, float b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Max(float a, float b) => a > b ? a : b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Equal(float a, float b) => Mask(a == b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Greater(float a, float b) => Mask(a > b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float And(float a, float b) => Bits(Raw(a) & Raw(b));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float AndNot(float a, float b) => Bits(Raw(a) & ~Raw(b));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Or(float a, float b) => Bits(Raw(a) | Raw(b));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Select(float mask, float a, float b) => Raw(mask) != 0 ? a : b;

    private static float Mask(bool b) => Bits(b ? -1 : 0);
    private static int Raw(float x) => BitConverter.SingleToInt32Bits(x);
    private static float Bits(int x) => BitConverter.Int32BitsToSingle(x);
}

/// <summary>128-bit flavour (4 floats): SSE on x64 without AVX2, NEON on Arm64.</summary>
internal readonly unsafe struct V128Ops : IVecOps<Vector128<float>>
{
    public static int Lanes => 4;
    public static Vector128<float> Zero => Vector128<float>.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Load(float* p) => Vector128.Load(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(float* p, Vector128<float> v) => v.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Broadcast(float* p) => Vector128.Create(*p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Splat(float x) => Vector128.Create(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Fma(Vector128<float> a, Vector128<float> b, Vector128<float> c) => Vector128.MultiplyAddEstimate(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Add(Vector128<float> a, Vector128<float> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Sub(Vector128<float> a, Vector128<float> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Mul(Vector128<float> a, Vector128<float> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Max(Vector128<float> a, Vector128<float> b) => Vector128.MaxNative(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Equal(Vector128<float> a, Vector128<float> b) => Vector128.Equals(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Greater(Vector128<float> a, Vector128<float> b) => Vector128.GreaterThan(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> And(Vector128<float> a, Vector128<float> b) => a & b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> AndNot(Vector128<float> a, Vector128<float> b) => Vector128.AndNot(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Or(Vector128<float> a, Vector128<float> b) => a | b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Select(Vector128<float> mask, Vector128<float> a, Vector128<float> b) => Vector128.ConditionalSelect(mask, a, b);
}

/// <summary>256-bit flavour (8 floats): AVX2 + FMA3. 16 vector registers, so tiles keep at most 12 accumulators.</summary>
internal readonly unsafe struct V256Ops : IVecOps<Vector256<float>>
{
    public static int Lanes => 8;
    public static Vector256<float> Zero => Vector256<float>.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Load(float* p) => Vector256.Load(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(float* p, Vector256<float> v) => v.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Broadcast(float* p) => Vector256.Create(*p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Splat(float x) => Vector256.Create(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Fma(Vector256<float> a, Vector256<float> b, Vector256<float> c) => Vector256.MultiplyAddEstimate(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Add(Vector256<float> a, Vector256<float> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Sub(Vector256<float> a, Vector256<float> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Mul(Vector256<float> a, Vector256<float> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Max(Vector256<float> a, Vector256<float> b) => Vector256.MaxNative(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Equal(Vector256<float> a, Vector256<float> b) => Vector256.Equals(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Greater(Vector256<float> a, Vector256<float> b) => Vector256.GreaterThan(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> And(Vector256<float> a, Vector256<float> b) => a & b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> AndNot(Vector256<float> a, Vector256<float> b) => Vector256.AndNot(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Or(Vector256<float> a, Vector256<float> b) => a | b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Select(Vector256<float> mask, Vector256<float> a, Vector256<float> b) => Vector256.ConditionalSelect(mask, a, b);
}

/// <summary>512-bit flavour (16 floats): AVX-512F. 32 vector registers, so tiles keep up to 28 accumulators.</summary>
internal readonly unsafe struct V512Ops : IVecOps<Vector512<float>>
{
    public static int Lanes => 16;
    public static Vector512<float> Zero => Vector512<float>.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Load(float* p) => Vector512.Load(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(float* p, Vector512<float> v) => v.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Broadcast(float* p) => Vector512.Create(*p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Splat(float x) => Vector512.Create(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Fma(Vector512<float> a, Vector512<float> b, Vector512<float> c) => Vector512.MultiplyAddEstimate(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Add(Vector512<float> a, Vector512<float> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Sub(Vector512<float> a, Vector512<float> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Mul(Vector512<float> a, Vector512<float> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Max(Vector512<float> a, Vector512<float> b) => Vector512.MaxNative(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Equal(Vector512<float> a, Vector512<float> b) => Vector512.Equals(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Greater(Vector512<float> a, Vector512<float> b) => Vector512.GreaterThan(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> And(Vector512<float> a, Vector512<float> b) => a & b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> AndNot(Vector512<float> a, Vector512<float> b) => Vector512.AndNot(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Or(Vector512<float> a, Vector512<float> b) => a | b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Select(Vector512<float> mask, Vector512<float> a, Vector512<float> b) => Vector512.ConditionalSelect(mask, a, b);
}
