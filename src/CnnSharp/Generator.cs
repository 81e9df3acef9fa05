namespace CnnSharp;

/// <summary>
/// A seeded pseudo-random source for initialisation, shuffling and dropout (xoshiro128** core), so runs are reproducible.
/// </summary>
/// <remarks>
/// Not bit-compatible with PyTorch's Mersenne Twister: the same seed gives different numbers than <c>torch.manual_seed</c>.
/// Reproducibility holds within CnnSharp for a fixed seed and thread count.
/// </remarks>
public sealed class Generator
{
    private uint _s0, _s1, _s2, _s3;
    private double? _spareNormal;

    /// <summary>Creates a generator from a 64-bit seed (expanded with SplitMix64).</summary>
    public Generator(ulong seed = 0)
    {
        ulong x = seed;
        ulong a = SplitMix(ref x), b = SplitMix(ref x);
        _s0 = (uint)a; _s1 = (uint)(a >> 32); _s2 = (uint)b; _s3 = (uint)(b >> 32);
        if ((_s0 | _s1 | _s2 | _s3) == 0) _s0 = 1;
    }

    /// <summary>The process-wide default generator (seed 0) used when none is passed.</summary>
    public static Generator Default { get; set; } = new(0);

    private static ulong SplitMix(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Next raw 32-bit value.</summary>
    public uint NextUInt32()
    {
        uint result = uint.RotateLeft(_s1 * 5, 7) * 9;
        uint t = _s1 << 9;
        _s2 ^= _s0; _s3 ^= _s1; _s1 ^= _s2; _s0 ^= _s3;
        _s2 ^= t;
        _s3 = uint.RotateLeft(_s3, 11);
        return result;
    }

    /// <summary>Uniform float in [0, 1) with 24 random bits.</summary>
    public float NextFloat() => (NextUInt32() >> 8) * (1.0f / 16777216f);

    /// <summary>Uniform double in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (((ulong)NextUInt32() << 21) ^ (NextUInt32() >> 11)) * (1.0 / 9007199254740992.0);

    /// <summary>Uniform integer in [0, <paramref name="maxExclusive"/>), without modulo bias.</summary>
    public int NextInt(int maxExclusive)
    {
        if (maxExclusive <= 0) throw new ArgumentOutOfRangeException(nameof(maxExclusive), maxExclusive, "must be positive");
        ulong m = (ulong)NextUInt32() * (ulong)maxExclusive;
        uint low = (uint)m;
        if (low < (uint)maxExclusive)
        {
            uint threshold = (uint)(-maxExclusive) % (uint)maxExclusive;
            while (low < threshold)
            {
                m = (ulong)NextUInt32() * (ulong)maxExclusive;
                low = (uint)m;
            }
        }
        return (int)(m >> 32);
    }

    /// <summary>Standard normal sample (Box-Muller, the spare value is cached).</summary>
    public double NextNormal()
    {
        if (_spareNormal is double spare)
        {
            _spareNormal = null;
            return spare;
        }
        double u1;
        do u1 = NextDouble(); while (u1 <= double.Epsilon);
        double u2 = NextDouble();
        double r = Math.Sqrt(-2.0 * Math.Log(u1));
        _spareNormal = r * Math.Sin(2 * Math.PI * u2);
        return r * Math.Cos(2 * Math.PI * u2);
    }

    /// <summary>Fisher-Yates shuffle of <paramref name="items"/> in place.</summary>
    public void Shuffle<T>(Span<T> items)
    {
        for (int i = items.Length - 1; i > 0; i--)
        {
            int j = NextInt(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }
}
