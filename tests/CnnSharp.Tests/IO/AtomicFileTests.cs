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

    [Fact]
    public void The_temporary_file_is_hidden_beside_the_target_and_names_the_process()
    {
        using var dir = new TempDirectory();
        string path = dir.File("ckpt.safetensors");
        string? seen = null;

        AtomicFile.Write(path, stream => seen = Directory.GetFiles(dir.Path).Single());

        Assert.Matches($@"^\.ckpt\.safetensors\.{Environment.ProcessId}\.[0-9a-f]{{32}}\.tmp$", Path.GetFileName(seen));
    }

    [Fact]
    public void A_full_disk_at_any_byte_keeps_the_previous_file_leaves_no_temporary_and_names_the_target()
    {
        using var dir = new TempDirectory();
        string path = dir.File("ckpt.safetensors");
        File.WriteAllText(path, "previous good checkpoint");
        var content = Enumerable.Range(0, 300).Select(i => (byte)i).ToArray();
        for (int k = 0; k < content.Length; k += 7)
        {
            using (FileFaults.DiskFull(failOnOpen: 1, afterBytes: k))
            {
                var e = Assert.Throws<IOException>(() => AtomicFile.Write(path, stream =>
                {
                    foreach (byte b in content) stream.WriteByte(b);
                }));
                Assert.Equal($"No space left on device : '{path}'", e.Message);
            }
            Assert.Equal("previous good checkpoint", File.ReadAllText(path));
            Assert.Equal([path], Directory.GetFiles(dir.Path));
        }
    }

    [Fact]
    public void A_missing_directory_is_reported_with_the_target_path()
    {
        using var dir = new TempDirectory();
        string path = Path.Combine(dir.Path, "missing", "ckpt.safetensors");

        var write = Assert.Throws<DirectoryNotFoundException>(() => AtomicFile.Write(path, stream => stream.WriteByte(1)));
        var probe = Assert.Throws<DirectoryNotFoundException>(() => AtomicFile.Probe(path, 10));

        Assert.Contains(path, write.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(".tmp", write.Message, StringComparison.Ordinal);
        Assert.Equal($"{path}: the directory {Path.GetDirectoryName(path)} does not exist", probe.Message);
    }

    [Fact]
    public void Probe_writes_nothing_that_stays()
    {
        using var dir = new TempDirectory();
        string path = dir.File("ckpt.safetensors");

        AtomicFile.Probe(path, 200_000);

        Assert.Empty(Directory.GetFiles(dir.Path));
        using (FileFaults.DiskFull(failOnOpen: 1, afterBytes: 100_000))
            Assert.Throws<IOException>(() => AtomicFile.Probe(path, 200_000));
        Assert.Empty(Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void Stale_temporaries_of_dead_processes_are_removed_others_kept()
    {
        using var dir = new TempDirectory();
        string path = dir.File("ckpt.safetensors");
        int dead = FileFaults.DeadProcessId();
        string[] kept =
        [
            dir.File($".ckpt.safetensors.{Environment.ProcessId}.abc.tmp"), // this process: may be mid-write
            dir.File($".other.safetensors.{dead}.abc.tmp"),                  // another output
            dir.File(".ckpt.safetensors.notapid.abc.tmp"),                  // not ours
            dir.File("ckpt.safetensors"),
        ];
        string stale = dir.File($".ckpt.safetensors.{dead}.abc.tmp");
        foreach (string f in kept.Append(stale)) File.WriteAllText(f, "x");

        var removed = AtomicFile.RemoveStaleTemporaries(path);

        Assert.Equal([Path.GetFileName(stale)], removed);
        Assert.Equal(kept.Order(), Directory.GetFiles(dir.Path).Order());
    }
}
