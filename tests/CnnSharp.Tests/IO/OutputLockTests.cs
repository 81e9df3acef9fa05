using CnnSharp.IO;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.IO;

public sealed class OutputLockTests
{
    [Fact]
    public void A_held_lock_refuses_a_second_holder_until_disposed()
    {
        using var dir = new TempDirectory();
        string output = dir.File("ckpt.safetensors");

        var first = OutputLock.Acquire(output);
        var e = Assert.Throws<OutputLockedException>(() => OutputLock.Acquire(output));
        first.Dispose();
        using var again = OutputLock.Acquire(output);

        Assert.Equal(output + ".lock", e.LockPath);
        Assert.Contains($"process {Environment.ProcessId}", e.Message, StringComparison.Ordinal);
        Assert.Equal(output + ".lock", again.LockPath);
    }

    [Fact]
    public void Locks_on_different_outputs_are_independent()
    {
        using var dir = new TempDirectory();
        using var a = OutputLock.Acquire(dir.File("a.safetensors"));
        using var b = OutputLock.Acquire(dir.File("b.safetensors"));
        Assert.NotEqual(a.LockPath, b.LockPath);
    }
}
