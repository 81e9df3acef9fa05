using CnnSharp.Kernels;
using Xunit;

namespace CnnSharp.Tests.Kernels;

/// <summary><see cref="ClampKernels"/>: the eager ReLU6 expression bit for bit (NaN, signed zeros, infinities) on the vector
/// body and the scalar tail, and the gradient mask.</summary>
public sealed class ClampKernelsTests
{
    private static float[] Values(int n)
    {
        float[] specials = [float.NaN, -0f, 0f, 6f, -1e-30f, 6.0000005f, 5.9999995f, float.PositiveInfinity, float.NegativeInfinity, 3f, -2f, 7f];
        var rng = new Random(n);
        return [.. Enumerable.Range(0, n).Select(i => i % 3 == 0 ? specials[i / 3 % specials.Length] : (float)(rng.NextDouble() * 10 - 2))];
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(15)]
    [InlineData(16)]
    [InlineData(37)]
    [InlineData(100)]
    public void Forward_is_the_eager_relu6_expression_bit_for_bit(int n)
    {
        var x = Values(n);
        var y = new float[n];

        ClampKernels.Forward(x, y, 0f, 6f);

        for (int i = 0; i < n; i++)
        {
            float v = x[i];
            float expected = v < 0f ? 0f : v > 6f ? 6f : v;
            Assert.True(BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(y[i]), $"x[{i}] = {v:R}: {y[i]:R}, expected {expected:R}");
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(37)]
    [InlineData(100)]
    public void Backward_passes_the_gradient_strictly_inside_the_bounds_and_keeps_dx_elsewhere(int n)
    {
        var x = Values(n);
        var y = new float[n];
        ClampKernels.Forward(x, y, -1f, 4f);
        var dy = Enumerable.Range(0, n).Select(i => i + 0.5f).ToArray();
        var dx = Enumerable.Range(0, n).Select(i => i % 2 == 0 ? -0f : 1f).ToArray();
        var before = (float[])dx.Clone();

        ClampKernels.Backward(y, dy, dx, -1f, 4f);

        for (int i = 0; i < n; i++)
        {
            bool passes = !(x[i] <= -1f || x[i] >= 4f);
            float expected = passes ? before[i] + dy[i] : before[i];
            Assert.True(BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(dx[i]), $"x[{i}] = {x[i]:R}: dx {dx[i]:R}, expected {expected:R}");
        }
    }
}
