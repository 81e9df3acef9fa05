using CnnSharp.Data;

namespace CnnSharp.Fuzz.Targets;

/// <summary>
/// Debian packages (Fashion-MNIST): the ar container, the data.tar / .gz / .xz member, the tar and the gzipped files,
/// through <c>DebPackage.ExtractGzipped</c> with the two small files the seeds carry (written, when intact, into a
/// scratch directory).
/// </summary>
internal sealed class DebTarget : FuzzTarget
{
    /// <summary>The package directory and files of the seeds (see <c>SeedWriter</c>): IDX labels 5, 0, 4, 1, 9 and 5 images of 4x4.</summary>
    internal static readonly DataFile[] Files =
    [
        new("tiny-labels-idx1-ubyte", "45edf7a87947aef292bae8444c6ddc3e75b734be4d477df1d046e1b0a6b85245", 13),
        new("tiny-images-idx3-ubyte", "e25a21b75369d7ad91019c11131cda6ccbd7da56102720cd02f35f64c0fe8efc", 96),
    ];

    private readonly string _scratch = Path.Combine(Path.GetTempPath(), "cnnsharp-fuzz-deb-" + Guid.NewGuid().ToString("N"));

    public override string Name => "deb";

    public override string Execute(byte[] input)
    {
        Directory.CreateDirectory(_scratch);
        var written = DebPackage.ExtractGzipped(new MemoryStream(input, writable: false), "fuzz.deb", "usr/share/datasets/fashion-mnist/",
            Files, _scratch, progress: null, "fuzz", CancellationToken.None);
        return $"{written.Count} files";
    }

    // Every promise the package reader makes: a typed error for malformed bytes, a checksum mismatch for wrong contents.
    public override bool IsExpected(Exception error) => error is ArchiveFormatException or ChecksumMismatchException;

    public override IReadOnlyList<byte[]> Dictionary { get; } =
        ["!<arch>\n"u8.ToArray(), "debian-binary"u8.ToArray(), "data.tar.xz/"u8.ToArray(), "data.tar.gz/"u8.ToArray(), "`\n"u8.ToArray(), "ustar"u8.ToArray()];
}
