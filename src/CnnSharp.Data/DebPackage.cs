using System.Formats.Tar;
using System.IO.Compression;
using SharpCompress.Compressors.Xz;

namespace CnnSharp.Data;

/// <summary>
/// Extracts gzipped data files from a Debian binary package (<c>.deb</c>) with managed code only: the <c>ar</c>
/// container (<see cref="ArArchive"/>), its <c>data.tar</c>, <c>data.tar.gz</c> or <c>data.tar.xz</c> member
/// (xz through SharpCompress, since the BCL has no xz decoder), the tar (<see cref="TarReader"/>), and each wanted
/// <c>*.gz</c> file (<see cref="GZipStream"/>), whose decompressed bytes are verified and written atomically.
/// </summary>
internal static class DebPackage
{
    /// <summary>
    /// Writes every file of <paramref name="files"/> found in the package as <c>{packageDirectory}{name}.gz</c> into
    /// <paramref name="directory"/>, decompressed, SHA-256 checked and renamed into place.
    /// </summary>
    /// <param name="deb">The package: a seekable stream whose offset 0 is the package's first byte (not disposed).</param>
    /// <param name="debName">The package's name in messages.</param>
    /// <param name="packageDirectory">Directory inside the package, without a leading "./" and with a trailing '/', e.g. "usr/share/datasets/fashion-mnist/".</param>
    /// <param name="files">The files wanted.</param>
    /// <param name="directory">Target directory (must exist).</param>
    /// <param name="progress">Receives a report per completed file.</param>
    /// <param name="sourceName">The source shown in progress reports.</param>
    /// <param name="cancellationToken">Cancels the extraction; temporary files are removed.</param>
    /// <returns>The names written, in package order.</returns>
    /// <exception cref="ArchiveFormatException">The package is malformed, or lacks a wanted file; the message names the file, member and offset.</exception>
    /// <exception cref="ChecksumMismatchException">A file's decompressed SHA-256 is not the published one.</exception>
    public static List<string> ExtractGzipped(Stream deb, string debName, string packageDirectory, IReadOnlyList<DataFile> files, string directory,
        IProgress<FetchProgress>? progress, string sourceName, CancellationToken cancellationToken)
    {
        var members = ArArchive.ReadMembers(deb, debName);
        CheckDebianBinary(deb, members, debName);
        var data = members.FirstOrDefault(m => m.Name.StartsWith("data.tar", StringComparison.Ordinal));
        if (data.Name is null)
            throw new ArchiveFormatException(debName, -1,
                $"no data.tar member (members: {string.Join(", ", members.Select(m => m.Name))})");

        string where = $"{debName}:{data.Name}";
        var slice = ArArchive.Open(deb, data);
        var missing = files.ToList();
        var written = new List<string>();
        try
        {
            using Stream tarStream = data.Name switch
            {
                "data.tar" => slice,
                "data.tar.gz" => new GZipStream(slice, CompressionMode.Decompress),
                "data.tar.xz" => new XZStream(slice),
                _ => throw new ArchiveFormatException(debName, data.HeaderOffset,
                    $"member \"{data.Name}\" at offset {data.HeaderOffset} uses a compression this reader lacks (data.tar, data.tar.gz and data.tar.xz are read)"),
            };
            using var tar = new TarReader(tarStream);
            while (missing.Count > 0 && tar.GetNextEntry() is TarEntry entry)
            {
                if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile) || entry.DataStream is null)
                    continue;
                string name = entry.Name.StartsWith("./", StringComparison.Ordinal) ? entry.Name[2..] : entry.Name;
                if (!name.StartsWith(packageDirectory, StringComparison.Ordinal) || !name.EndsWith(".gz", StringComparison.Ordinal))
                    continue;
                int index = missing.FindIndex(f => f.Name == name[packageDirectory.Length..^3]);
                if (index < 0)
                    continue;
                var file = missing[index];
                using (var gzip = new GZipStream(entry.DataStream, CompressionMode.Decompress, leaveOpen: true))
                    DataFiles.WriteVerified(directory, file, gzip, $"{where}:{name}", cancellationToken);
                missing.RemoveAt(index);
                written.Add(file.Name);
                progress?.Report(new FetchProgress(file.Name, sourceName, FetchStage.Completed));
            }
        }
        catch (Exception ex) when (IsDecodingFailure(ex))
        {
            throw new ArchiveFormatException(where, slice.AbsolutePosition,
                $"malformed data near offset {slice.AbsolutePosition} of {debName}: {ex.Message}", ex);
        }
        if (missing.Count > 0)
            throw new ArchiveFormatException(where, -1,
                $"has no {string.Join(", ", missing.Select(f => packageDirectory + f.Name + ".gz"))}");
        return written;
    }

    /// <summary>Opens the package file at <paramref name="debPath"/> and extracts from it (see the stream overload).</summary>
    public static List<string> ExtractGzipped(string debPath, string packageDirectory, IReadOnlyList<DataFile> files, string directory,
        IProgress<FetchProgress>? progress, string sourceName, CancellationToken cancellationToken)
    {
        using var deb = new FileStream(debPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        return ExtractGzipped(deb, Path.GetFileName(debPath), packageDirectory, files, directory, progress, sourceName, cancellationToken);
    }

    /// <summary>A .deb starts with the member "debian-binary" holding the format version "2.x\n".</summary>
    private static void CheckDebianBinary(Stream deb, List<ArMember> members, string debName)
    {
        if (members.Count == 0 || members[0].Name != "debian-binary" || members[0].Size is < 4 or > 16)
            throw new ArchiveFormatException(debName, 8, "not a Debian package: the first member (offset 8) must be \"debian-binary\" of 4 to 16 bytes");
        Span<byte> version = stackalloc byte[(int)members[0].Size];
        ArArchive.Open(deb, members[0]).ReadExactly(version);
        if (!version.StartsWith("2."u8) || version[^1] != (byte)'\n')
            throw new ArchiveFormatException(debName, members[0].DataOffset,
                $"unsupported Debian package format at offset {members[0].DataOffset}, expected version \"2.x\"");
    }

    /// <summary>
    /// True for a failure of the decoders (tar, gzip, xz) on the package's bytes, which becomes an
    /// <see cref="ArchiveFormatException"/>; false for cancellation, a checksum mismatch, our own format errors and
    /// I/O errors of the file system (other than an early end of the data), which pass through unchanged.
    /// </summary>
    private static bool IsDecodingFailure(Exception ex) => ex switch
    {
        OperationCanceledException or ChecksumMismatchException or ArchiveFormatException or OutOfMemoryException => false,
        EndOfStreamException => true,
        IOException => false,
        _ => true, // InvalidDataException, FormatException, ArgumentException and SharpCompress's own exception types
    };
}
