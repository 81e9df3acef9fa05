using CnnSharp.Data;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Data;

public sealed class IdxReaderTests : IDisposable
{
    private readonly ScratchDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private IdxFormatException ReadFails(string name, byte[] contents, int? expectedRank = null)
    {
        string path = _dir.Write(name, contents);
        var ex = Assert.Throws<IdxFormatException>(() => IdxReader.Read(path, expectedRank));
        Assert.StartsWith(name + ": ", ex.Message, StringComparison.Ordinal);
        Assert.Equal(name, ex.FileName);
        Assert.Contains($"offset {ex.Offset}", ex.Message, StringComparison.Ordinal);
        return ex;
    }

    [Fact]
    public void Read_valid_images_returns_dims_and_payload()
    {
        string path = _dir.Write("imgs", DataTestFiles.Images(3, 2, 5));
        var idx = IdxReader.ReadImages(path);
        Assert.Equal(new Shape(3, 2, 5), idx.Shape);
        Assert.Equal(16, idx.PayloadOffset);
        Assert.Equal(30, idx.Data.Length);
        Assert.Equal(Enumerable.Range(0, 30).Select(i => (byte)i), idx.Data);
    }

    [Fact]
    public void ReadLabels_valid_file_returns_bytes()
    {
        string path = _dir.Write("labels", DataTestFiles.Labels(5, 0, 4, 1, 9));
        Assert.Equal(new byte[] { 5, 0, 4, 1, 9 }, IdxReader.ReadLabels(path));
    }

    [Fact]
    public void Read_nonseekable_stream_matches_file_read()
    {
        byte[] file = DataTestFiles.Images(4, 3, 3);
        using var stream = new NonSeekableStream(file);
        var idx = IdxReader.Read(stream, "s", expectedRank: 3);
        Assert.Equal(new Shape(4, 3, 3), idx.Shape);
        Assert.Equal(file.AsSpan(16).ToArray(), idx.Data);
    }

    [Fact]
    public void Read_all_zero_magic_reports_bad_magic_at_offset_0()
    {
        var bytes = DataTestFiles.Images(1, 2, 2);
        bytes[2] = 0;
        bytes[3] = 0;
        var ex = ReadFails("train-images-idx3-ubyte", bytes, expectedRank: 3);
        Assert.Equal("train-images-idx3-ubyte: bad magic 0x00000000 at offset 0, expected 0x00000803", ex.Message);
    }

    [Fact]
    public void Read_nonzero_leading_bytes_reports_bad_magic()
    {
        var bytes = DataTestFiles.Labels(1, 2);
        bytes[0] = 0x1F; // e.g. a gzip file handed over uncompressed
        bytes[1] = 0x8B;
        var ex = ReadFails("labels.gz", bytes);
        Assert.Equal(0, ex.Offset);
        Assert.Contains("bad magic 0x1F8B0801", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_labels_file_where_images_expected_reports_rank()
    {
        var ex = ReadFails("t10k-images-idx3-ubyte", DataTestFiles.Labels(1, 2, 3), expectedRank: 3);
        Assert.Contains("bad magic 0x00000801 at offset 0, expected 0x00000803", ex.Message, StringComparison.Ordinal);
        Assert.Contains("rank 1 at offset 3, expected 3", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_float32_type_code_reports_unsupported_type_at_offset_2()
    {
        var bytes = DataTestFiles.Idx(0x0D, [2], new byte[8]);
        var ex = ReadFails("floats", bytes);
        Assert.Equal(2, ex.Offset);
        Assert.Contains("unsupported element type 0x0D (float32)", ex.Message, StringComparison.Ordinal);
        Assert.Contains("expected 0x08 (unsigned byte)", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_unknown_type_code_reports_bad_magic()
    {
        var ex = ReadFails("weird", DataTestFiles.Idx(0x0A, [1], [0]));
        Assert.Equal(0, ex.Offset);
        Assert.Contains("bad magic 0x00000A01", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_rank_zero_reports_bad_magic()
    {
        var ex = ReadFails("rank0", [0, 0, 8, 0, 42]);
        Assert.Contains("bad magic 0x00000800 at offset 0", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3)]
    public void Read_file_shorter_than_magic_reports_truncated_header(int length)
    {
        var ex = ReadFails("short", DataTestFiles.Images(1, 1, 1)[..length]);
        Assert.Equal(length, ex.Offset);
        Assert.Contains("truncated header", ex.Message, StringComparison.Ordinal);
        Assert.Contains($"the file has {length} bytes", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(4)]
    [InlineData(9)]
    [InlineData(15)]
    public void Read_file_ending_inside_dimensions_reports_truncated_header(int length)
    {
        var ex = ReadFails("train-images-idx3-ubyte", DataTestFiles.Images(2, 2, 2)[..length]);
        Assert.Equal(length, ex.Offset);
        Assert.Contains("truncated header", ex.Message, StringComparison.Ordinal);
        Assert.Contains("rank 3 needs a 16-byte header", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_truncated_payload_reports_offset_of_end_and_sizes()
    {
        byte[] full = DataTestFiles.Images(3, 2, 2); // 16 + 12 bytes
        var ex = ReadFails("imgs", full[..25]);
        Assert.Equal(25, ex.Offset);
        Assert.Contains("truncated payload at offset 25", ex.Message, StringComparison.Ordinal);
        Assert.Contains("dimensions (3, 2, 2) need 12 bytes after the 16-byte header, the file has 9", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_trailing_bytes_reports_offset_after_payload()
    {
        byte[] full = DataTestFiles.Labels(1, 2, 3);
        var ex = ReadFails("labels", [.. full, 7, 7]);
        Assert.Equal(11, ex.Offset);
        Assert.Contains("2 trailing bytes at offset 11", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_nonseekable_stream_with_trailing_bytes_throws()
    {
        byte[] file = [.. DataTestFiles.Labels(1, 2, 3), 9];
        using var stream = new NonSeekableStream(file);
        var ex = Assert.Throws<IdxFormatException>(() => IdxReader.Read(stream, "piped"));
        Assert.Equal(11, ex.Offset);
        Assert.Contains("piped: trailing data at offset 11", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_nonseekable_stream_truncated_throws()
    {
        using var stream = new NonSeekableStream(DataTestFiles.Images(2, 2, 2)[..20]);
        var ex = Assert.Throws<IdxFormatException>(() => IdxReader.Read(stream, "piped"));
        Assert.Equal(20, ex.Offset);
        Assert.Contains("truncated payload at offset 20", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(1, -5)]
    [InlineData(2, int.MinValue)]
    public void Read_nonpositive_dimension_reports_its_offset(int which, int value)
    {
        int[] dims = [2, 2, 2];
        dims[which] = value;
        var ex = ReadFails("imgs", DataTestFiles.Idx(0x08, dims, new byte[8]));
        Assert.Equal(4 + 4 * which, ex.Offset);
        Assert.Contains($"dimension {which} is {value} at offset {4 + 4 * which}, expected a positive size", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_dimension_product_overflowing_throws_without_allocating()
    {
        var bytes = DataTestFiles.Idx(0x08, [int.MaxValue, int.MaxValue, 28], new byte[4]);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var ex = ReadFails("train-images-idx3-ubyte", bytes);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1_000_000, "the reader allocated the claimed size");
        Assert.Equal(4, ex.Offset);
        Assert.Contains("dimensions (2147483647, 2147483647, 28) at offset 4 describe more than", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_huge_claimed_size_in_tiny_file_throws_without_allocating()
    {
        // Claims 40000 * 200 * 250 = 2,000,000,000 bytes, just under the array limit, in a 30-byte file.
        var bytes = DataTestFiles.Idx(0x08, [40000, 200, 250], new byte[14]);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var ex = ReadFails("train-images-idx3-ubyte", bytes);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1_000_000, "the reader allocated the claimed size");
        Assert.Equal(30, ex.Offset);
        Assert.Contains("need 2000000000 bytes after the 16-byte header, the file has 14", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_huge_claimed_size_on_nonseekable_stream_allocates_only_what_arrives()
    {
        var bytes = DataTestFiles.Idx(0x08, [40000, 200, 250], new byte[14]);
        using var stream = new NonSeekableStream(bytes);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var ex = Assert.Throws<IdxFormatException>(() => IdxReader.Read(stream, "piped"));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1_000_000, "the reader allocated the claimed size");
        Assert.Equal(30, ex.Offset);
    }

    [Fact]
    public void Read_missing_file_throws_file_not_found()
    {
        Assert.Throws<FileNotFoundException>(() => IdxReader.Read(Path.Combine(_dir.Path, "absent")));
    }

    [Fact]
    public void IdxFormatException_is_an_IOException()
    {
        var ex = ReadFails("short", [0, 0]);
        Assert.IsAssignableFrom<IOException>(ex);
    }
}
