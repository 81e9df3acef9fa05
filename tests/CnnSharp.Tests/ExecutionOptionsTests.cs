using CnnSharp.Kernels;

namespace CnnSharp.Tests;

public class ExecutionOptionsTests
{
    [Fact]
    public void Scopes_override_the_default_on_their_flow_only_and_nest()
    {
        // Only scopes here: other tests may replace the process default concurrently.
        using (ExecutionOptions.Use(new ExecutionOptions { Threads = 3 }))
        {
            Assert.Equal(3, Parallelism.MaxThreads);
            using (ExecutionOptions.Use(new ExecutionOptions { Threads = 1, MaxSimd = SimdLevel.Scalar }))
            {
                Assert.Equal(1, Parallelism.MaxThreads);
                Assert.Equal(IsaLevel.Scalar, Isa.Level);
                ExecutionOptions? seen = null, fallback = null;
                var thread = new Thread(() => (seen, fallback) = (ExecutionOptions.Current, ExecutionOptions.Default));
                thread.UnsafeStart(); // no execution-context flow: another thread sees the process default
                thread.Join();
                Assert.Same(fallback, seen);
                using (ExecutionOptions.Use(ExecutionOptions.Current with { Threads = 2 }))
                {
                    Assert.Equal(2, Parallelism.MaxThreads);
                    Assert.Equal(SimdLevel.Scalar, ExecutionOptions.Current.MaxSimd);
                }
                Assert.Equal(1, Parallelism.MaxThreads);
                using (default(ExecutionOptions.Scope)) { }
                Assert.Equal(1, Parallelism.MaxThreads); // disposing a default scope restores nothing
            }
            Assert.Equal(3, Parallelism.MaxThreads);
            Assert.Equal((IsaLevel)ExecutionOptions.DetectedSimd, Isa.Level);
        }
    }

    [Fact]
    public void Invalid_settings_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new ExecutionOptions { Threads = 0 });
        Assert.Throws<ArgumentNullException>(() => ExecutionOptions.Default = null!);
        Assert.Throws<ArgumentNullException>(() => ExecutionOptions.Use(null!));
    }
}
