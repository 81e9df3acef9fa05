using CnnSharp.Data;

namespace CnnSharp.Tests.Data;

/// <summary>
/// Every input that ever broke <see cref="ImageLoader"/> (hung the decoder, over-allocated, crashed), kept under
/// <c>Fixtures/images/hostile/</c>: each must be refused with an <see cref="ImageFormatException"/> naming it, within a
/// time bound, so that a regression shows as a failing test instead of a stuck run.
/// </summary>
public sealed class ImageLoaderHostileTests
{
    /// <summary>The longest a refusal may take; a decode still running then counts as a hang.</summary>
    internal static readonly TimeSpan TimeLimit = TimeSpan.FromSeconds(5);

    private static string Folder(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "images", name);

    public static TheoryData<string> HostileFiles()
    {
        var data = new TheoryData<string>();
        foreach (string file in Directory.GetFiles(Folder("hostile")).Where(f => !f.EndsWith(".md", StringComparison.Ordinal)).Order(StringComparer.Ordinal))
            data.Add(Path.GetFileName(file));
        return data;
    }

    /// <summary>
    /// Runs <paramref name="action"/> on a pool thread and fails the test when it has not finished within
    /// <paramref name="limit"/> (default <see cref="TimeLimit"/>; a hung decode is left behind on its thread: the point
    /// is that the test run goes on).
    /// </summary>
    internal static T WithinTimeLimit<T>(Func<T> action, string what, TimeSpan? limit = null)
    {
        var task = Task.Run(action);
        var bound = limit ?? TimeLimit;
        if (!task.Wait(bound))
            Assert.Fail($"{what}: still running after {bound.TotalSeconds} s (a hang)");
        return task.GetAwaiter().GetResult();
    }

    [Fact]
    public void The_hostile_folder_is_not_empty()
    {
        Assert.True(HostileFiles().Count >= 7, "Fixtures/images/hostile/ should hold the regression files");
    }

    [Theory]
    [MemberData(nameof(HostileFiles))]
    public void Hostile_file_is_a_typed_error_naming_it_within_the_time_limit(string name)
    {
        byte[] bytes = File.ReadAllBytes(Path.Combine(Folder("hostile"), name));
        var outcome = WithinTimeLimit<Exception?>(() =>
        {
            try
            {
                ImageLoader.Decode(bytes, name);
                return null;
            }
            catch (Exception e)
            {
                return e;
            }
        }, name);
        var e = Assert.IsType<ImageFormatException>(outcome);
        Assert.Equal(name, e.FileName);
        Assert.StartsWith(name + ": ", e.Message);
        Assert.DoesNotContain('\0', e.Message);
    }
}
