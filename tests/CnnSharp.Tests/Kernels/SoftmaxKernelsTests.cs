using CnnSharp.Kernels;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Kernels;

public sealed class SoftmaxKernelsTests
{
    public static TheoryData<int> Sizes
    {
        get
        {
            var d = new TheoryData<int>();
            foreach (int n in new[] { 1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 33, 64, 67 }) d.Add(n);
            return d;
        }
    }

    [Theory, MemberData(nameof(Sizes))]
    public void Row_path_and_strided_path_agree(int size)
    {
        // (3, size) softmax over dim 1 uses contiguous rows; its transpose (size, 3) over dim 0 uses the strided path.
        const int rows = 3;
        var x = GradCheck.RandomValues(rows * size, size, -5f, 5f);
        var xt = new float[x.Length];
        for (int r = 0; r < rows; r++)
            for (int k = 0; k < size; k++)
                xt[k * rows + r] = x[r * size + k];
        foreach (bool log in new[] { false, true })
        {
            var y = new float[x.Length];
            var yt = new float[x.Length];
            SoftmaxKernels.Forward(x, y, rows, size, 1, log);
            SoftmaxKernels.Forward(xt, yt, 1, size, rows, log);
            for (int r = 0; r < rows; r++)
                for (int k = 0; k < size; k++)
                    AssertClose(y[r * size + k], yt[k * rows + r]);

            var gy = GradCheck.RandomValues(x.Length, 77, -1f, 1f);
            var gyt = new float[x.Length];
            for (int r = 0; r < rows; r++)
                for (int k = 0; k < size; k++)
                    gyt[k * rows + r] = gy[r * size + k];
            var gx = new float[x.Length];
            var gxt = new float[x.Length];
            SoftmaxKernels.Backward(y, gy, gx, rows, size, 1, log);
            SoftmaxKernels.Backward(yt, gyt, gxt, 1, size, rows, log);
            for (int r = 0; r < rows; r++)
                for (int k = 0; k < size; k++)
                    AssertClose(gx[r * size + k], gxt[k * rows + r]);
        }
    }

    // The two paths sum in different orders, so they agree to float32 rounding, not bit for bit.
    private static void AssertClose(float expected, float actual) =>
        Assert.True(Math.Abs(expected - actual) <= 1e-5f * (1 + Math.Abs(expected)), $"{actual} vs {expected}");

    [Fact]
    public void Backward_accumulates()
    {
        float[] y = [0.5f, 0.5f];
        float[] gx = [1f, 1f];
        SoftmaxKernels.Backward(y, [1f, 0f], gx, 1, 2, 1, log: false);
        // dx = y*(dy - sum(dy*y)) = [0.5*(1-0.5), 0.5*(0-0.5)] = [0.25, -0.25]
        Assert.Equal(new[] { 1.25f, 0.75f }, gx);
    }
}
