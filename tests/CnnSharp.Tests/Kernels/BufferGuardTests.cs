using System.Runtime.CompilerServices;
using CnnSharp.Kernels;
using CnnSharp.Kernels.Direct;

namespace CnnSharp.Tests.Kernels;

/// <summary>
/// The raw-pointer buffer diagnostics (<see cref="BufferGuard"/>, on with <c>CNNSHARP_BUFFER_GUARD=&lt;log file&gt;</c>):
/// a write past a guarded buffer's end is reported when the buffer dies, a write into a dropped buffer when it leaves the
/// quarantine, and an untouched buffer is not reported.
/// </summary>
public sealed class BufferGuardTests
{
    [Fact]
    public void A_write_past_a_guarded_buffer_is_reported_when_the_buffer_dies()
    {
        string bad = "overflow " + Guid.NewGuid().ToString("N"), good = "intact " + Guid.NewGuid().ToString("N");
        DropSentinels(bad, good);
        for (int i = 0; i < 20 && !BufferGuard.Recent.Any(m => m.StartsWith(bad, StringComparison.Ordinal)); i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
        Assert.Contains(BufferGuard.Recent, m => m.StartsWith(bad, StringComparison.Ordinal) && m.Contains("index 116 = 0", StringComparison.Ordinal));
        BufferGuard.DrainQuarantine();
        Assert.DoesNotContain(BufferGuard.Recent, m => m.StartsWith(good, StringComparison.Ordinal));
    }

    [Fact]
    public void A_write_into_a_dropped_buffer_is_reported_when_it_leaves_the_quarantine()
    {
        string what = "dropped " + Guid.NewGuid().ToString("N");
        var array = new float[64];
        BufferGuard.Quarantine(array, what, null);
        array[5] = 0f; // what a pointer that outlived its buffer would do
        BufferGuard.DrainQuarantine();
        Assert.Contains(BufferGuard.Recent, m => m.StartsWith(what, StringComparison.Ordinal) && m.Contains("1 floats in [5, 5]", StringComparison.Ordinal));
    }

    [Fact]
    public void Aligned_buffers_are_guarded_exactly_when_the_guard_is_on() =>
        Assert.Equal(BufferGuard.Enabled, new AlignedBuffer(4).Guarded);

    // Two guarded arrays whose owners die on return: one written one float past its usable range [16, 116), one not.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void DropSentinels(string overflowing, string intact)
    {
        var array = new float[16 + 100 + BufferGuard.GuardFloats];
        _ = new BufferGuard.Sentinel(array, 16, 100, overflowing);
        array[116] = 0f;
        var clean = new float[16 + 100 + BufferGuard.GuardFloats];
        _ = new BufferGuard.Sentinel(clean, 16, 100, intact);
        clean.AsSpan(16, 100).Fill(3f);
    }
}
