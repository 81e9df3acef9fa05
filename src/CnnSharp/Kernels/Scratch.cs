using System.Runtime.CompilerServices;

namespace CnnSharp.Kernels;

/// <summary>
/// Per-thread scratch buffers for kernels (GEMM packing, im2col columns): pinned, so raw pointers into them stay valid;
/// 64-byte aligned (one cache line, one zmm); grown on demand and then reused, so steady-state calls do not allocate.
/// </summary>
/// <remarks>
/// Each caller owns a fixed <see cref="Slot"/>, so a kernel can hold one buffer while it calls another kernel that uses
/// different slots (a convolution keeps its column buffer while the GEMM packs into its own). A buffer is valid until the
/// same thread asks for the same slot again.
/// </remarks>
internal static unsafe class Scratch
{
    /// <summary>The fixed owners of the per-thread buffers.</summary>
    public enum Slot
    {
        /// <summary>GEMM: the packed block of A.</summary>
        GemmPackA = 0,
        /// <summary>GEMM: the packed panel of B.</summary>
        GemmPackB = 1,
        /// <summary>Convolution: the im2col matrix of one image and group.</summary>
        Columns = 2,
        /// <summary>Convolution: the gradient of the im2col matrix (before col2im).</summary>
        ColumnGradient = 3,
        /// <summary>Packed convolution: one image copied with its zero padding.</summary>
        PaddedImage = 4,
        /// <summary>Packed convolution: tap and pixel offsets (int32 values stored in the float buffer).</summary>
        Offsets = 5,
        /// <summary>Packed convolution: the packed column matrix of whole images, shared by the threads of one call.</summary>
        SharedColumns = 6,
        /// <summary>Grouped/depthwise convolution: one group's input channels, zero-padded and split into stride phases.</summary>
        GroupedInput = 7,
        /// <summary>Grouped/depthwise convolution: one output channel's sums before the epilogue.</summary>
        GroupedOutput = 8,
    }

    private const int SlotCount = 9;

    [ThreadStatic] private static float[]?[]? t_buffers;

    /// <summary>A buffer of at least <paramref name="count"/> floats for <paramref name="slot"/> on this thread; contents are unspecified.</summary>
    public static float* Get(Slot slot, nint count)
    {
        if (BufferGuard.Enabled) return GetGuarded(slot, count);
        var buffers = t_buffers ??= new float[]?[SlotCount];
        var buf = buffers[(int)slot];
        if (buf is null || buf.Length < count + 16)
        {
            // 16 spare floats let the start move up to the next 64-byte boundary.
            buf = GC.AllocateUninitializedArray<float>((int)Math.Max(count + 16, 1024), pinned: true);
            buffers[(int)slot] = buf;
        }
        float* p = (float*)Unsafe.AsPointer(ref buf[0]);
        nint misalign = (nint)p & 63;
        return misalign == 0 ? p : (float*)((byte*)p + (64 - misalign));
    }

    [ThreadStatic] private static (int Offset, int Count)[]? t_guarded;

    // Get under BufferGuard: canaries after the requested floats, checked at the slot's next request; a replaced buffer is retired.
    private static float* GetGuarded(Slot slot, nint count)
    {
        var buffers = t_buffers ??= new float[]?[SlotCount];
        var used = t_guarded ??= new (int, int)[SlotCount];
        var buf = buffers[(int)slot];
        var (offset, previous) = used[(int)slot];
        if (buf is not null && BufferGuard.FirstTouched(buf, offset + previous, Math.Min(buf.Length, offset + previous + BufferGuard.GuardFloats)) is int i and >= 0)
            BufferGuard.Report($"Scratch.{slot}: write past the {previous} floats requested, at {i - offset} = {buf[i]:R}", null);
        if (buf is null || buf.Length < count + 16 + BufferGuard.GuardFloats)
        {
            if (buf is not null) BufferGuard.Quarantine(buf, $"Scratch.{slot}({previous}) replaced", null);
            buf = GC.AllocateUninitializedArray<float>((int)Math.Max(count + 16 + BufferGuard.GuardFloats, 1024), pinned: true);
            buffers[(int)slot] = buf;
            float* start = (float*)Unsafe.AsPointer(ref buf[0]);
            offset = (int)(((64 - ((nint)start & 63)) & 63) / sizeof(float));
            BufferGuard.Fill(buf, 0, offset);
        }
        used[(int)slot] = (offset, (int)count);
        BufferGuard.Fill(buf, offset + (int)count, Math.Min(buf.Length, offset + (int)count + BufferGuard.GuardFloats));
        return (float*)Unsafe.AsPointer(ref buf[offset]);
    }

    /// <summary>As <see cref="Get(Slot, nint)"/>, as a span of exactly <paramref name="count"/> floats.</summary>
    public static Span<float> GetSpan(Slot slot, int count) => new(Get(slot, count), count);
}
