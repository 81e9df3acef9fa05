namespace CnnSharp.Tests.TestUtilities;

/// <summary>Compares floats within an absolute tolerance, for <c>Assert.Equal(expected, actual, comparer)</c> on arrays.</summary>
internal sealed class FloatTolerance(float tolerance) : IEqualityComparer<float>
{
    public bool Equals(float x, float y) => Math.Abs(x - y) <= tolerance;

    public int GetHashCode(float obj) => 0;
}
