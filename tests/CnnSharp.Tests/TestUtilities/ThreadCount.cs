using CnnSharp.Kernels;

namespace CnnSharp.Tests.TestUtilities;

/// <summary>Runs code under a given <see cref="Parallelism.MaxThreads"/> and compares results bit for bit.</summary>
internal static class ThreadCount
{
    /// <summary><paramref name="body"/>'s result with <see cref="Parallelism.MaxThreads"/> set to <paramref name="threads"/> (restored after).</summary>
    public static T With<T>(int threads, Func<T> body)
    {
        int saved = Parallelism.MaxThreads;
        Parallelism.MaxThreads = threads;
        try
        {
            return body();
        }
        finally
        {
            Parallelism.MaxThreads = saved;
        }
    }

    /// <summary>Asserts that <paramref name="run"/> returns the same bits (signed zeros and NaN payloads included) with 1, 2 and 3 threads.</summary>
    public static void AssertInvariant(Func<float[][]> run)
    {
        var one = With(1, run);
        foreach (int threads in new[] { 2, 3 })
        {
            var other = With(threads, run);
            Assert.Equal(one.Length, other.Length);
            for (int k = 0; k < one.Length; k++)
            {
                Assert.Equal(one[k].Length, other[k].Length);
                for (int i = 0; i < one[k].Length; i++)
                {
                    if (BitConverter.SingleToInt32Bits(one[k][i]) != BitConverter.SingleToInt32Bits(other[k][i]))
                        Assert.Fail($"result {k}, element {i}: {other[k][i]:R} with {threads} threads, {one[k][i]:R} with 1");
                }
            }
        }
    }
}
