using System.Formats.Tar;
using System.Text;
using CnnSharp.Data;

namespace CnnSharp.Tests.Data;

/// <summary>
/// Fashion-MNIST: the managed .deb extraction (ar container, data.tar / .gz / .xz, tar, gzipped IDX files) on
/// generated miniature packages, the apt-get step through a fake apt-get, and hostile packages.
/// </summary>
public sealed class FashionMnistTests : IDisposable
{
    private static readonly byte[] s_labels = DataTestFiles.FashionLabels;
    private static readonly byte[] s_images = DataTestFiles.FashionImages;

    private static readonly DataFile[] s_files =
    [
        new("tiny-labels-idx1-ubyte", DataTestFiles.Sha256(s_labels), s_labels.Length),
        new("tiny-images-idx3-ubyte", DataTestFiles.Sha256(s_images), s_images.Length),
    ];

    private readonly ScratchDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Target => Path.Combine(_dir.Path, "fashion");

    private static FashionMnistFetcher Fetcher(string? apt = null) => apt is null ? new() { Files = s_files } : new() { Files = s_files, AptCommand = apt };

    /// <summary>The committed data.tar.xz of a miniature package (see Fixtures/deb/make_fixture.py).</summary>
    private static byte[] XzFixture() => File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Fixtures", "deb", "fashion-mini.data.tar.xz"));

    private static byte[] Deb(string dataName, byte[] data) => DataTestFiles.Deb(dataName, data);

    private static byte[] Ar(params (string Name, byte[] Data)[] members) => DataTestFiles.Ar(members);

    private static byte[] DataTar(byte[]? labelsGz = null) => DataTestFiles.FashionDataTar(labelsGz);

    private string WriteDeb(byte[] deb) => _dir.Write("dataset-fashion-mnist_0.0-1_all.deb", deb);

    private void AssertExtracted()
    {
        Assert.Equal(s_labels, File.ReadAllBytes(Path.Combine(Target, s_files[0].Name)));
        Assert.Equal(s_images, File.ReadAllBytes(Path.Combine(Target, s_files[1].Name)));
        Assert.Equal(s_files.Select(f => f.Name).Order(), Directory.GetFiles(Target).Select(Path.GetFileName).Order());
    }

    [Fact]
    public void ExtractFromPackage_reads_the_xz_data_member_of_a_miniature_deb()
    {
        var reports = new List<FetchProgress>();
        var written = Fetcher().ExtractFromPackage(WriteDeb(Deb("data.tar.xz", XzFixture())), Target, new SyncProgress(reports.Add));
        Assert.Equal(["tiny-labels-idx1-ubyte", "tiny-images-idx3-ubyte"], written);
        AssertExtracted();
        Assert.Equal(2, reports.Count(r => r.Stage == FetchStage.Completed));
    }

    [Theory]
    [InlineData("data.tar")]
    [InlineData("data.tar.gz")]
    public void ExtractFromPackage_reads_plain_and_gzipped_data_members(string member)
    {
        byte[] tar = DataTar();
        Fetcher().ExtractFromPackage(WriteDeb(Deb(member, member.EndsWith(".gz", StringComparison.Ordinal) ? DataTestFiles.Gzip(tar) : tar)), Target);
        AssertExtracted();
    }

    [Fact]
    public void Extracted_files_load_as_an_mnist_style_dataset()
    {
        Fetcher().ExtractFromPackage(WriteDeb(Deb("data.tar.xz", XzFixture())), Target);
        var set = MnistDataset.FromFiles(Path.Combine(Target, "tiny-images-idx3-ubyte"), Path.Combine(Target, "tiny-labels-idx1-ubyte"));
        Assert.Equal(5, set.Count);
        Assert.Equal(4, set.Label(2));
        Assert.Equal(16, set.Image(1)[0]);
    }

    [Fact]
    public void Fetch_runs_apt_get_download_in_a_temporary_directory_and_cleans_it()
    {
        if (OperatingSystem.IsWindows()) return; // the fake apt-get is a shell script
        string deb = WriteDeb(Deb("data.tar.xz", XzFixture()));
        string argsFile = Path.Combine(_dir.Path, "args.txt");
        string apt = FakeScript($"echo \"$@\" > '{argsFile}'\npwd >> '{argsFile}'\ncp '{deb}' ./dataset-fashion-mnist_0.0-1_all.deb\n");
        var written = Fetcher(apt).Fetch(Target);
        Assert.Equal(2, written.Count);
        AssertExtracted();
        string[] lines = File.ReadAllLines(argsFile);
        Assert.Equal("download dataset-fashion-mnist", lines[0]);
        Assert.False(Directory.Exists(lines[1]), "the temporary download directory is removed");
        Assert.Empty(Fetcher(apt).Fetch(Target)); // nothing missing: apt-get is not run again
    }

    [Fact]
    public void Fetch_reports_apt_get_failure_with_its_output_and_the_remedy()
    {
        if (OperatingSystem.IsWindows()) return;
        string apt = FakeScript("echo 'E: Unable to locate package dataset-fashion-mnist' >&2\nexit 100\n");
        var ex = Assert.Throws<IOException>(() => Fetcher(apt).Fetch(Target));
        Assert.Contains("exited with code 100: E: Unable to locate package", ex.Message, StringComparison.Ordinal);
        Assert.Contains("ExtractFromPackage", ex.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(Target));
    }

    [Fact]
    public void Fetch_without_apt_get_says_it_could_not_start()
    {
        var ex = Assert.Throws<IOException>(() => Fetcher(Path.Combine(_dir.Path, "no-such-apt-get")).Fetch(Target));
        Assert.Contains("could not start", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_file_whose_decompressed_hash_differs_is_refused_and_leaves_nothing()
    {
        byte[] wrong = DataTestFiles.Labels(1, 1, 1, 1, 1); // same length, other bytes
        var ex = Assert.Throws<ChecksumMismatchException>(() =>
            Fetcher().ExtractFromPackage(WriteDeb(Deb("data.tar", DataTar(DataTestFiles.Gzip(wrong)))), Target));
        Assert.Contains("tiny-labels-idx1-ubyte.gz", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Directory.GetFiles(Target), f => Path.GetFileName(f) == "tiny-labels-idx1-ubyte" || f.EndsWith(".tmp", StringComparison.Ordinal));
    }

    [Fact]
    public void A_truncated_gzip_file_is_caught_by_its_hash()
    {
        // GZipStream returns what it has at an early end of the stream without an error; the SHA-256 catches it.
        Assert.Throws<ChecksumMismatchException>(() =>
            Fetcher().ExtractFromPackage(WriteDeb(Deb("data.tar", DataTar(DataTestFiles.Gzip(s_labels)[..12]))), Target));
    }

    [Fact]
    public void A_package_without_a_wanted_file_names_it()
    {
        var files = s_files.Append(new DataFile("absent-idx1-ubyte", new string('0', 64), 10)).ToArray();
        var ex = Assert.Throws<ArchiveFormatException>(() =>
            new FashionMnistFetcher { Files = files }.ExtractFromPackage(WriteDeb(Deb("data.tar.xz", XzFixture())), Target));
        Assert.Contains("usr/share/datasets/fashion-mnist/absent-idx1-ubyte.gz", ex.Message, StringComparison.Ordinal);
    }

    public static TheoryData<string, byte[], string> HostilePackages()
    {
        byte[] good = Deb("data.tar.xz", XzFixture());
        byte[] Patch(byte[] source, int offset, string text)
        {
            var copy = (byte[])source.Clone();
            Encoding.ASCII.GetBytes(text).CopyTo(copy, offset);
            return copy;
        }
        // The data member's header starts after the magic (8), debian-binary (60 + 4) and control.tar.xz (60 + 3 + 1 pad).
        int dataHeader = 8 + 64 + 64;
        byte[] xz = XzFixture();
        byte[] flipped = (byte[])xz.Clone();
        flipped[xz.Length / 2] ^= 0x55;
        byte[] tar = DataTar();
        return new()
        {
            { "empty", [], "not an ar archive" },
            { "bad magic", Encoding.ASCII.GetBytes("!<arkh>\n"), "not an ar archive" },
            { "truncated header", good[..(dataHeader + 30)], "truncated member header at offset 136" },
            { "bad terminator", Patch(good, dataHeader + 58, "xx"), "bad member header terminator at offset 194" },
            { "size not decimal", Patch(good, dataHeader + 48, "12a4      "), "bad member size field \"12a4\" at offset 184" },
            { "size past the end", Patch(good, dataHeader + 48, "999       "), "member \"data.tar.xz\" at offset 136 claims 999 bytes" },
            { "huge size", Patch(good, dataHeader + 48, "9999999999"), "claims 9999999999 bytes" },
            { "not debian-binary first", Ar(("data.tar", tar)), "first member (offset 8) must be \"debian-binary\"" },
            { "unknown format version", Ar(("debian-binary", "3.0\n"u8.ToArray()), ("data.tar", tar)), "unsupported Debian package format" },
            { "no data member", Ar(("debian-binary", "2.0\n"u8.ToArray())), "no data.tar member" },
            { "zstd data", Deb("data.tar.zst", [1, 2, 3]), "uses a compression this reader lacks" },
            { "corrupt xz", Deb("data.tar.xz", flipped), "data.tar.xz: malformed data near offset" },
            { "truncated xz", Deb("data.tar.xz", xz[..(xz.Length / 3)]), "data.tar.xz: malformed data near offset" },
            { "truncated tar", Deb("data.tar", tar[..(tar.Length - 2000)]), "data.tar: malformed data near offset" },
            { "corrupt gzip file", Deb("data.tar", DataTar([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xff, 0xff, 0xff])), "data.tar: malformed data near offset" },
        };
    }

    [Theory]
    [MemberData(nameof(HostilePackages))]
    public void Hostile_packages_fail_with_a_typed_error_naming_the_problem(string what, byte[] deb, string expected)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        var ex = Assert.Throws<ArchiveFormatException>(() => Fetcher().ExtractFromPackage(WriteDeb(deb), Target));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 32 << 20, $"{what}: no allocation sized by the package's claims");
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
        Assert.StartsWith("dataset-fashion-mnist_0.0-1_all.deb", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Directory.GetFiles(Target), f => f.EndsWith(".tmp", StringComparison.Ordinal));
    }

    [Fact]
    public void A_tar_entry_claiming_gigabytes_fails_without_allocating_them()
    {
        // A PAX extended header whose size field claims 8 GiB - 1, followed by nothing: a reader that buffered the
        // claimed size would allocate gigabytes; this one must stop at the end of the data.
        var header = new byte[512];
        Encoding.ASCII.GetBytes("./PaxHeaders/x").CopyTo(header, 0);
        Encoding.ASCII.GetBytes("0000644\0").CopyTo(header, 100);
        Encoding.ASCII.GetBytes("0000000\0").CopyTo(header, 108);
        Encoding.ASCII.GetBytes("0000000\0").CopyTo(header, 116);
        Encoding.ASCII.GetBytes("77777777777\0").CopyTo(header, 124);
        Encoding.ASCII.GetBytes("00000000000\0").CopyTo(header, 136);
        header[156] = (byte)'x';
        Encoding.ASCII.GetBytes("ustar\000").CopyTo(header, 257);
        Encoding.ASCII.GetBytes("        ").CopyTo(header, 148);
        int sum = header.Sum(b => b);
        Encoding.ASCII.GetBytes(Convert.ToString(sum, 8).PadLeft(6, '0') + "\0 ").CopyTo(header, 148);
        byte[] tar = [.. header, .. new byte[1024]];
        long before = GC.GetAllocatedBytesForCurrentThread();
        var ex = Assert.Throws<ArchiveFormatException>(() => Fetcher().ExtractFromPackage(WriteDeb(Deb("data.tar", tar)), Target));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 32 << 20, "no allocation sized by the tar header's claim");
        Assert.Contains("data.tar: malformed data", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Class_names_follow_torchvision()
    {
        Assert.Equal(FashionMnist.NumClasses, FashionMnist.ClassNames.Count);
        Assert.Equal("T-shirt/top", FashionMnist.ClassNames[0]);
        Assert.Equal("Trouser", FashionMnist.ClassNames[1]);
        Assert.Equal("Ankle boot", FashionMnist.ClassNames[9]);
        Assert.Equal(Mnist.FileNames, FashionMnist.FileNames);
    }

    [Fact]
    public void Default_directory_is_a_subdirectory_of_the_data_variable()
    {
        string home = Path.Combine(_dir.Path, "home");
        Assert.Equal(Path.Combine(home, ".cache", "cnnsharp", "fashion-mnist"), FashionMnist.ResolveDirectory(null, home));
        Assert.Equal(Path.Combine(home, ".cache", "cnnsharp", "fashion-mnist"), FashionMnist.ResolveDirectory("  ", home));
        Assert.Equal(Path.Combine(_dir.Path, "data", "fashion-mnist"), FashionMnist.ResolveDirectory(Path.Combine(_dir.Path, "data"), home));
    }

    [Fact]
    public void Load_without_fetch_names_the_missing_files()
    {
        var ex = Assert.Throws<FileNotFoundException>(() => FashionMnist.Load(Target, fetch: false));
        Assert.Contains("Fashion-MNIST: train-images-idx3-ubyte, train-labels-idx1-ubyte", ex.Message, StringComparison.Ordinal);
        Assert.False(FashionMnist.IsPresent(Target));
    }

    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    private string FakeScript(string body) => DataTestFiles.FakeProgram(_dir.Path, "apt-get", body);
}
