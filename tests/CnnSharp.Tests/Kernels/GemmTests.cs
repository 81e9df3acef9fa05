using CnnSharp.Kernels;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Kernels;

/// <summary>
/// The blocked GEMM against the naive float64 product, for every transpose combination, every SIMD path (run in software
/// where the CPU lacks it) and sizes 1..67, which covers every remainder of the 4-, 6-, 8-, 16- and 32-wide tiles.
/// </summary>
public sealed class GemmTests
{
    // Theory arguments must be public types, so the internal IsaLevel travels as its int value.
    public static TheoryData<int, bool, bool> LevelsAndTransposes()
    {
        var data = new TheoryData<int, bool, bool>();
        foreach (int level in Levels())
            foreach (bool ta in new[] { false, true })
                foreach (bool tb in new[] { false, true })
                    data.Add(level, ta, tb);
        return data;
    }

    public static TheoryData<int> Levels() => new() { (int)IsaLevel.Scalar, (int)IsaLevel.V256, (int)IsaLevel.V512 };

    private static (float[] A, float[] B) Operands(bool ta, bool tb, int m, int n, int k, int lda, int ldb, int seed)
    {
        var a = GradCheck.RandomValues(Math.Max(1, (ta ? k : m) * lda), seed);
        var b = GradCheck.RandomValues(Math.Max(1, (tb ? n : k) * ldb), seed + 1);
        return (a, b);
    }

    [Theory, MemberData(nameof(LevelsAndTransposes))]
    public void Product_matches_double_reference_for_sizes_1_to_67(int levelValue, bool ta, bool tb)
    {
        var level = (IsaLevel)levelValue;
        for (int s = 1; s <= 67; s++)
        {
            int m = s, n = (s * 7) % 67 + 1, k = (s * 13) % 67 + 1;
            int lda = ta ? m : k, ldb = tb ? k : n;
            var (a, b) = Operands(ta, tb, m, n, k, lda, ldb, s);
            var c = new float[m * n];
            Array.Fill(c, float.NaN); // overwrite mode must never read C
            Gemm.Multiply(level, ta, tb, m, n, k, a, lda, b, ldb, c, n, accumulate: false);
            TensorAssert.Close(Reference.Gemm(ta, tb, m, n, k, a, lda, b, ldb), c, Tolerance.Accumulated, $"{level} ta={ta} tb={tb} {m}x{n}x{k}");
        }
    }

    [Theory, MemberData(nameof(LevelsAndTransposes))]
    public void Accumulate_adds_to_C_and_respects_leading_dimensions(int levelValue, bool ta, bool tb)
    {
        var level = (IsaLevel)levelValue;
        // Strided operands (row stride larger than the row) and a C with extra columns that must stay untouched.
        int m = 13, n = 37, k = 29;
        int lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 5, ldc = n + 2;
        var (a, b) = Operands(ta, tb, m, n, k, lda, ldb, 11);
        var c = GradCheck.RandomValues(m * ldc, 12);
        var before = (float[])c.Clone();
        Gemm.Multiply(level, ta, tb, m, n, k, a, lda, b, ldb, c, ldc, accumulate: true);
        var product = Reference.Gemm(ta, tb, m, n, k, a, lda, b, ldb);
        for (int i = 0; i < m; i++)
        {
            var expected = new double[n];
            for (int j = 0; j < n; j++) expected[j] = before[i * ldc + j] + product[i * n + j];
            TensorAssert.Close(expected, c.AsSpan(i * ldc, n), Tolerance.Accumulated, $"row {i}");
            Assert.Equal(before[i * ldc + n], c[i * ldc + n]);
            Assert.Equal(before[i * ldc + n + 1], c[i * ldc + n + 1]);
        }
    }

    [Theory, MemberData(nameof(Levels))]
    public void Sizes_crossing_every_cache_block_match_reference(int levelValue)
    {
        var level = (IsaLevel)levelValue;
        // K > KC (192/256), M > MC (96), N > NC (2048 for V512): every blocking loop runs more than once.
        foreach (var (m, n, k) in new[] { (100, 70, 400), (9, 2100, 200) })
        {
            foreach (bool ta in new[] { false, true })
            {
                bool tb = !ta;
                int lda = ta ? m : k, ldb = tb ? k : n;
                var (a, b) = Operands(ta, tb, m, n, k, lda, ldb, m + n);
                var c = new float[m * n];
                Gemm.Multiply(level, ta, tb, m, n, k, a, lda, b, ldb, c, n, accumulate: false, parallel: false);
                TensorAssert.Close(Reference.Gemm(ta, tb, m, n, k, a, lda, b, ldb), c, new Tolerance(1e-4, 1e-4), $"{m}x{n}x{k}");
            }
        }
    }

    [Theory]
    [InlineData(300, 150, 64)]  // split over M
    [InlineData(40, 700, 80)]   // split over N
    public void Parallel_split_is_bitwise_identical_to_sequential(int m, int n, int k)
    {
        var (a, b) = Operands(false, false, m, n, k, k, n, 3);
        var seq = new float[m * n];
        var par = new float[m * n];
        Gemm.Multiply(false, false, m, n, k, a, k, b, n, seq, n, accumulate: false, parallel: false);
        Gemm.Multiply(false, false, m, n, k, a, k, b, n, par, n, accumulate: false, parallel: true);
        Assert.Equal(seq, par);
        TensorAssert.Close(Reference.Gemm(false, false, m, n, k, a, k, b, n), par, Tolerance.Accumulated);
    }

    [Fact]
    public void Zero_depth_overwrites_with_zeros_or_leaves_C_when_accumulating()
    {
        var c = new[] { 1f, 2f, 3f, 4f };
        Gemm.Multiply(false, false, 2, 2, 0, [], 0, [], 2, c, 2, accumulate: true);
        Assert.Equal(new[] { 1f, 2f, 3f, 4f }, c);
        Gemm.Multiply(false, false, 2, 2, 0, [], 0, [], 2, c, 2, accumulate: false);
        Assert.Equal(new[] { 0f, 0f, 0f, 0f }, c);
    }

    [Fact]
    public void Too_short_operand_throws_before_touching_memory()
    {
        var ex = Assert.Throws<ArgumentException>(() =>
            Gemm.Multiply(false, false, 4, 4, 4, new float[15], 4, new float[16], 4, new float[16], 4, accumulate: false));
        Assert.Contains("4x4", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Detected_level_is_capped_by_MaxLevel()
    {
        Assert.True(Isa.Level <= Isa.Detected);
        Assert.True(Isa.Level <= Isa.MaxLevel);
    }

    [Fact]
    public void Isa_override_flows_into_parallel_workers_and_is_restored()
    {
        var before = Isa.Level;
        var seen = new System.Collections.Concurrent.ConcurrentBag<IsaLevel>();
        using (Isa.Use(IsaLevel.Scalar))
        {
            Parallelism.For(64, (s, e) => seen.Add(Isa.Level));
            Assert.Equal(IsaLevel.Scalar, Isa.Level);
        }
        Assert.NotEmpty(seen);
        Assert.All(seen, l => Assert.Equal(IsaLevel.Scalar, l));
        Assert.Equal(before, Isa.Level);
    }
}
