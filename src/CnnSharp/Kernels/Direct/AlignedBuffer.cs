using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace CnnSharp.Kernels.Direct;

/// <summary>
/// A zero-initialised float buffer on the pinned object heap whose first element is 64-byte aligned (one cache line,
/// one 512-bit vector), so kernels can use raw pointers into it for the buffer's lifetime. Freed by the GC.
/// </summary>
/// <remarks>
/// A raw <see cref="Pointer"/> does not keep the buffer alive: hold the buffer in a field of an object that outlives
/// the kernel call (as the plans and engines do), or <c>GC.KeepAlive</c> it after the call.
/// </remarks>
internal sealed unsafe class AlignedBuffer
{
    private readonly float[] _array;
    private readonly BufferGuard.Sentinel? _guard;

    /// <summary>Allocates <paramref name="length"/> zeroed floats.</summary>
    public AlignedBuffer(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        _array = GC.AllocateArray<float>(length + 16 + (BufferGuard.Enabled ? BufferGuard.GuardFloats : 0), pinned: true);
        var start = (float*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_array));
        int offset = (int)(((64 - ((nint)start & 63)) & 63) / sizeof(float));
        Pointer = start + offset;
        Length = length;
        if (BufferGuard.Enabled) _guard = new BufferGuard.Sentinel(_array, offset, length, $"AlignedBuffer({length})");
    }

    /// <summary>Address of element 0 (64-byte aligned; valid while this object is reachable).</summary>
    public float* Pointer { get; }

    /// <summary>Number of usable floats.</summary>
    public int Length { get; }

    /// <summary>The buffer as a span.</summary>
    public Span<float> Span => new(Pointer, Length);

    /// <summary>Whether <see cref="BufferGuard"/> watches this buffer.</summary>
    internal bool Guarded => _guard is not null;

    /// <summary>Sets every element to zero.</summary>
    public void Clear() => Span.Clear();
}
