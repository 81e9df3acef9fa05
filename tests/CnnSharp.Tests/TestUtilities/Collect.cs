namespace CnnSharp.Tests.TestUtilities;

/// <summary>An <see cref="IProgress{T}"/> that keeps every report, in order, on the reporting thread.</summary>
internal sealed class Collect<T> : IProgress<T>
{
    public List<T> Items { get; } = [];

    public void Report(T value) => Items.Add(value);
}
