using CnnSharp.IO;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.IO;

public sealed class AtomicFileTests
{
    [Fact]
    public void Failure_mid_write_keeps_the_previous_file_and_deletes_the_temporary()
    {
        using var dir = new TempDirectory();
        string path = dir.File("ckpt.safetensors");
        File.WriteAllText(path, "previous good checkpoint");

        Assert.Throws<IOException>(() => AtomicFile.Write(path, stream =>
        {
            stream.Write(new byte[4096]);
            throw new IOException("disk full (simulated)");
        }));

        Assert.Equal("previous good checkpoint", File.ReadAllText(path));
        Assert.Equal([path], Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void Failure_when_no_file_existed_leaves_nothing_behind()
    {
        using var dir = new TempDirectory();
        string path = dir.File("new.bin");

        Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(path, _ => throw new InvalidOperationException("boom")));

        Assert.Empty(Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void Success_replaces_content_completely()
    {
        using var dir = new TempDirectory();
        string path = dir.File("f.bin");
        File.WriteAllBytes(path, new byte[100]);

        AtomicFile.Write(path, stream => stream.Write([7, 8, 9]));

        Assert.Equal(new byte[] { 7, 8, 9 }, File.ReadAllBytes(path));
    }
}
