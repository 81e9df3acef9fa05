using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Functional;

/// <summary>Random shapes and values for the tensor-manipulation tests (small, so finite differences stay cheap).</summary>
internal static class ManipulationCases
{
    /// <summary>Case numbers for theories: every rank 1..5 appears several times.</summary>
    public static TheoryData<int> Seeds => [.. Enumerable.Range(0, 15)];

    public static int Rank(int seed) => 1 + seed % 5;

    /// <summary>A shape of <paramref name="rank"/> dims in 1..<paramref name="maxDim"/>.</summary>
    public static int[] Shape(Random rng, int rank, int maxDim = 3) => [.. Enumerable.Range(0, rank).Select(_ => rng.Next(1, maxDim + 1))];

    /// <summary>A dimension in -rank..rank-1 (half the cases negative).</summary>
    public static int Dim(Random rng, int rank) => rng.Next(-rank, rank);

    public static float[] Values(int[] shape, int seed) => GradCheck.RandomValues(shape.Aggregate(1, (a, b) => a * b), seed);

    public static float[] ToFloat(double[] v) => [.. v.Select(d => (float)d)];
}
