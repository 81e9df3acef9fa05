using CnnSharp.Kernels;
using CnnSharp.Tests.TestUtilities;
using Xunit;

namespace CnnSharp.Tests.Kernels;

/// <summary><see cref="SmallBatchLinear"/> against the float64 product and the GEMM path, with and without a bias, and the
/// same bits on 1 to 3 threads.</summary>
public sealed class SmallBatchLinearTests
{
    [Theory]
    [InlineData(1, 37, 130, true)]
    [InlineData(3, 1280, 67, false)]
    [InlineData(4, 5, 1, true)]
    public void Matches_the_double_product_and_is_thread_count_invariant(int rows, int inFeatures, int outFeatures, bool bias)
    {
        var g = new Generator(5);
        var x = Tensor.Randn(g, rows * inFeatures).ToArray();
        var w = Tensor.Randn(g, outFeatures * inFeatures).ToArray();
        float[]? b = bias ? Tensor.Randn(g, outFeatures).ToArray() : null;
        var expected = new double[rows * outFeatures];
        for (int r = 0; r < rows; r++)
            for (int o = 0; o < outFeatures; o++)
            {
                double s = b?[o] ?? 0;
                for (int i = 0; i < inFeatures; i++) s += (double)x[r * inFeatures + i] * w[o * inFeatures + i];
                expected[r * outFeatures + o] = s;
            }

        ThreadCount.AssertInvariant(() =>
        {
            var y = new float[rows * outFeatures];
            new SmallBatchLinear().Forward(x, w, b, y, rows, inFeatures, outFeatures);
            TensorAssert.Close(expected, y, Tolerance.Accumulated);
            return [y];
        });
    }

    [Fact]
    public void More_rows_than_the_path_takes_are_refused()
    {
        var e = Assert.Throws<ArgumentException>(() => new SmallBatchLinear().Forward(new float[10], new float[2], null, new float[5], 5, 2, 1));
        Assert.Contains("at most 4 rows", e.Message);
    }
}
