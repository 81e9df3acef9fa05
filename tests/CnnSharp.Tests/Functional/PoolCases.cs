using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Functional;

/// <summary>
/// Deterministic random pooling geometries: odd and even sizes, rectangular windows, stride/padding/dilation/ceil-mode
/// mixes, and inputs with distinct values (no ties, never all ones). Case i is the same on every run.
/// </summary>
public static class PoolCases
{
    public sealed record Case(int[] Shape, Reference.PoolSpec Spec, int Seed)
    {
        public float[] Values => GradCheck.DistinctValues(Shape.Aggregate(1, (a, b) => a * b), Seed);

        public double[] DoubleValues => Values.Select(v => (double)v).ToArray();

        public Tensor Input() => Tensor.FromArray(Values, Shape);

        public override string ToString() => $"{CnnSharp.Shape.Format(Shape)} {Spec}";
    }

    public const int ForwardCount = 48;
    public const int GradCount = 16;

    public static TheoryData<int> ForwardIndices => Indices(ForwardCount);

    public static TheoryData<int> GradIndices => Indices(GradCount);

    private static TheoryData<int> Indices(int count)
    {
        var data = new TheoryData<int>();
        for (int i = 0; i < count; i++) data.Add(i);
        return data;
    }

    /// <summary>Case <paramref name="index"/>: input up to (2, 3, 17, 17), or up to (1, 2, 9, 9) when <paramref name="small"/> (for gradcheck).</summary>
    public static Case Get(int index, bool dilation, bool small = false, bool padding = true)
    {
        var rng = new Generator((ulong)(9000 + index * 31 + (dilation ? 7 : 0) + (small ? 3 : 0)));
        int maxSize = small ? 9 : 17;
        while (true)
        {
            int n = small ? 1 : 1 + rng.NextInt(2), c = 1 + rng.NextInt(small ? 2 : 3);
            int h = 1 + rng.NextInt(maxSize), w = 1 + rng.NextInt(maxSize);
            int kh = 1 + rng.NextInt(5), kw = 1 + rng.NextInt(5);
            int sh = 1 + rng.NextInt(3), sw = 1 + rng.NextInt(3);
            int ph = padding ? rng.NextInt(kh / 2 + 1) : 0, pw = padding ? rng.NextInt(kw / 2 + 1) : 0;
            int dh = dilation ? 1 + rng.NextInt(3) : 1, dw = dilation ? 1 + rng.NextInt(3) : 1;
            bool ceil = rng.NextInt(2) == 1;
            if (Reference.PoolOutputSize(h, kh, sh, ph, dh, ceil) <= 0 || Reference.PoolOutputSize(w, kw, sw, pw, dw, ceil) <= 0) continue;
            // Gradient checks need every window to see the input; ceil mode with dilation can give windows of padding only
            // (their max is -inf), which the forward tests keep.
            if (small && (HasEmptyWindow(h, kh, sh, ph, dh, ceil) || HasEmptyWindow(w, kw, sw, pw, dw, ceil))) continue;
            return new Case([n, c, h, w], new Reference.PoolSpec(kh, kw, sh, sw, ph, pw, dh, dw, ceil), index + 1);
        }
    }

    private static bool HasEmptyWindow(int size, int k, int s, int p, int d, bool ceil)
    {
        int outSize = Reference.PoolOutputSize(size, k, s, p, d, ceil);
        for (int o = 0; o < outSize; o++)
            if (!Enumerable.Range(0, k).Any(m => o * s - p + m * d >= 0 && o * s - p + m * d < size)) return true;
        return false;
    }
}
