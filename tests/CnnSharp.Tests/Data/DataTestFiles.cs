using System.Buffers.Binary;
using System.Security.Cryptography;
using CnnSharp.Data;

namespace CnnSharp.Tests.Data;

/// <summary>Builds small IDX files and scratch directories for the data-layer tests.</summary>
internal static class DataTestFiles
{
    /// <summary>An IDX file: two zero bytes, type code, rank, big-endian dims, payload.</summary>
    public static byte[] Idx(byte type, int[] dims, ReadOnlySpan<byte> payload)
    {
        var bytes = new byte[4 + 4 * dims.Length + payload.Length];
        bytes[2] = type;
        bytes[3] = (byte)dims.Length;
        for (int i = 0; i < dims.Length; i++)
            BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4 + 4 * i), dims[i]);
        payload.CopyTo(bytes.AsSpan(4 + 4 * dims.Length));
        return bytes;
    }

    /// <summary>An unsigned-byte IDX file whose payload is 0, 1, 2, ... (mod 256).</summary>
    public static byte[] Idx(params int[] dims)
    {
        long n = 1;
        foreach (int d in dims) n *= d;
        var payload = new byte[n];
        for (int i = 0; i < payload.Length; i++) payload[i] = (byte)i;
        return Idx(0x08, dims, payload);
    }

    /// <summary>Labels file (magic 0x00000801) holding <paramref name="labels"/>.</summary>
    public static byte[] Labels(params byte[] labels) => Idx(0x08, [labels.Length], labels);

    /// <summary>Image file (magic 0x00000803) of <paramref name="count"/> images of rows x cols with pixel values i mod 256.</summary>
    public static byte[] Images(int count, int rows, int cols) => Idx(count, rows, cols);

    public static string Sha256(byte[] data) => Convert.ToHexStringLower(SHA256.HashData(data));

    /// <summary>The miniature Fashion-MNIST package's files (also in Fixtures/deb/fashion-mini.data.tar.xz).</summary>
    public static byte[] FashionLabels { get; } = Labels(5, 0, 4, 1, 9);

    /// <summary>Five 4x4 images, pixel values i mod 256.</summary>
    public static byte[] FashionImages { get; } = Images(5, 4, 4);

    /// <summary>An ar archive of the members, each header written as GNU ar does (name + '/', decimal size, "`\n").</summary>
    public static byte[] Ar(params (string Name, byte[] Data)[] members)
    {
        using var ms = new MemoryStream();
        ms.Write("!<arch>\n"u8);
        foreach (var (name, data) in members)
        {
            string header = $"{name + "/",-16}{"0",-12}{"0",-6}{"0",-6}{"100644",-8}{data.Length,-10}`\n";
            ms.Write(System.Text.Encoding.ASCII.GetBytes(header));
            ms.Write(data);
            if (data.Length % 2 == 1) ms.WriteByte((byte)'\n');
        }
        return ms.ToArray();
    }

    /// <summary>A .deb: debian-binary "2.0", a dummy control member, and the data member.</summary>
    public static byte[] Deb(string dataName, byte[] data) =>
        Ar(("debian-binary", "2.0\n"u8.ToArray()), ("control.tar.xz", [1, 2, 3]), (dataName, data));

    /// <summary>A data.tar like dataset-fashion-mnist's: a directory, an unrelated file and the two gzipped miniature files.</summary>
    public static byte[] FashionDataTar(byte[]? labelsGz = null)
    {
        const string dir = "./usr/share/datasets/fashion-mnist/";
        using var ms = new MemoryStream();
        using (var tar = new System.Formats.Tar.TarWriter(ms, System.Formats.Tar.TarEntryFormat.Gnu, leaveOpen: true))
        {
            tar.WriteEntry(new System.Formats.Tar.GnuTarEntry(System.Formats.Tar.TarEntryType.Directory, dir));
            void Add(string name, byte[] data) =>
                tar.WriteEntry(new System.Formats.Tar.GnuTarEntry(System.Formats.Tar.TarEntryType.RegularFile, name) { DataStream = new MemoryStream(data) });
            Add("./usr/share/doc/README.gz", Gzip("not data"u8.ToArray()));
            Add(dir + "tiny-images-idx3-ubyte.gz", Gzip(FashionImages));
            Add(dir + "tiny-labels-idx1-ubyte.gz", labelsGz ?? Gzip(FashionLabels));
        }
        return ms.ToArray();
    }

    public static byte[] Gzip(byte[] data)
    {
        using var ms = new MemoryStream();
        using (var gz = new System.IO.Compression.GZipStream(ms, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true))
            gz.Write(data);
        return ms.ToArray();
    }

    /// <summary>An executable shell script in <paramref name="directory"/> standing in for a program such as npm or apt-get.</summary>
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public static string FakeProgram(string directory, string name, string body)
    {
        string path = System.IO.Path.Combine(directory, $"fake-{name}-{Guid.NewGuid():N}");
        File.WriteAllText(path, "#!/bin/sh\n" + body);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }
}

/// <summary>A unique temporary directory removed on dispose.</summary>
internal sealed class ScratchDirectory : IDisposable
{
    public ScratchDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "cnnsharp-test-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string Write(string name, byte[] contents)
    {
        string path = System.IO.Path.Combine(Path, name);
        File.WriteAllBytes(path, contents);
        return path;
    }

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); }
        catch (IOException) { }
    }
}

/// <summary>Reports synchronously (Progress&lt;T&gt; would post to the thread pool and race the assertions).</summary>
internal sealed class SyncProgress(Action<FetchProgress> report) : IProgress<FetchProgress>
{
    private readonly object _lock = new();

    public void Report(FetchProgress value)
    {
        lock (_lock) report(value);
    }
}
