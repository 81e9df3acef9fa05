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
