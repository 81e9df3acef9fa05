using CnnSharp.Kernels.Direct;

namespace CnnSharp.Tests.TestUtilities;

/// <summary>
/// A kernel test's output buffer with canary floats on both sides: an <see cref="AlignedBuffer"/> of
/// <see cref="Guard"/> + length + <see cref="Guard"/> floats whose middle is handed to the kernel, so a kernel that writes
/// past either end of its buffer fails the test that ran it (<see cref="AssertIntact"/>) instead of corrupting a
/// neighbouring allocation of another test.
/// </summary>
internal sealed unsafe class GuardedBuffer
{
    /// <summary>Canary floats on each side: a multiple of 16, so <see cref="Pointer"/> stays 64-byte aligned.</summary>
    public const int Guard = 64;

    // A NaN no kernel computes from finite data (payload 0x5AFE).
    private const int CanaryBits = 0x7FC05AFE;

    private readonly AlignedBuffer _whole;

    /// <summary>Allocates <paramref name="length"/> zeroed floats between two guard regions of canaries.</summary>
    public GuardedBuffer(int length)
    {
        Length = length;
        _whole = new AlignedBuffer(Guard + length + Guard);
        var canary = BitConverter.Int32BitsToSingle(CanaryBits);
        _whole.Span[..Guard].Fill(canary);
        _whole.Span[(Guard + length)..].Fill(canary);
    }

    /// <summary>Element 0 (64-byte aligned; valid while this object is reachable).</summary>
    public float* Pointer => _whole.Pointer + Guard;

    /// <summary>Number of usable floats.</summary>
    public int Length { get; }

    /// <summary>The usable floats.</summary>
    public Span<float> Span => new(Pointer, Length);

    /// <summary>Fails naming every canary that changed (offset from element 0, value) unless both guards are intact.</summary>
    public void AssertIntact(string what)
    {
        var whole = _whole.Span;
        var bad = new List<string>();
        for (int i = 0; i < whole.Length; i++)
        {
            if (i == Guard) i += Length;
            if (i < whole.Length && BitConverter.SingleToInt32Bits(whole[i]) != CanaryBits) bad.Add($"[{i - Guard}] = {whole[i]:R}");
        }
        if (bad.Count > 0) Assert.Fail($"{what}: written outside its {Length} floats: {string.Join(", ", bad.Take(16))}{(bad.Count > 16 ? $" (+{bad.Count - 16} more)" : "")}");
    }
}
