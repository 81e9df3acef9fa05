namespace CnnSharp.Tests.TestUtilities;

/// <summary>A theory that is skipped, visibly and with the reason, when the conformance folder is absent.</summary>
internal sealed class ConformanceTheoryAttribute : TheoryAttribute
{
    public ConformanceTheoryAttribute()
    {
        if (ConformanceData.Root is null) Skip = ConformanceData.SkipReason;
    }
}
