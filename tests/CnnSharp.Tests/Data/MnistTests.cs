using CnnSharp.Data;

namespace CnnSharp.Tests.Data;

public sealed class MnistTests : IDisposable
{
    private readonly ScratchDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void FromFiles_reads_images_and_labels()
    {
        string images = _dir.Write("imgs", DataTestFiles.Images(3, 2, 2));
        string labels = _dir.Write("labs", DataTestFiles.Labels(7, 0, 9));
        var set = MnistDataset.FromFiles(images, labels);
        Assert.Equal(3, set.Count);
        Assert.Equal(2, set.Rows);
        Assert.Equal(new Shape(1, 2, 2), set.SampleShape);
        Assert.Equal(9, set.Label(2));
        Assert.Equal(new byte[] { 8, 9, 10, 11 }, set.Image(2).ToArray());
    }

    [Fact]
    public void FromFiles_count_mismatch_names_both_files()
    {
        string images = _dir.Write("imgs", DataTestFiles.Images(3, 2, 2));
        string labels = _dir.Write("labs", DataTestFiles.Labels(1, 2));
        var ex = Assert.Throws<IdxFormatException>(() => MnistDataset.FromFiles(images, labels));
        Assert.Equal("labs", ex.FileName);
        Assert.Contains("2 labels (dimension 0 at offset 4) but imgs has 3 images", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FromFiles_label_of_10_reports_its_offset()
    {
        string images = _dir.Write("imgs", DataTestFiles.Images(3, 1, 1));
        string labels = _dir.Write("labs", DataTestFiles.Labels(1, 2, 10));
        var ex = Assert.Throws<IdxFormatException>(() => MnistDataset.FromFiles(images, labels));
        Assert.Equal(10, ex.Offset);
        Assert.Contains("labs: label 10 at offset 10 (sample 2), expected 0..9", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Constructor_rejects_label_out_of_range_and_length_mismatch()
    {
        Assert.Throws<ArgumentException>(() => new MnistDataset(new byte[8], new byte[] { 1, 200 }, 2, 2));
        Assert.Throws<ArgumentException>(() => new MnistDataset(new byte[7], new byte[] { 1, 2 }, 2, 2));
    }

    [Fact]
    public void Fill_scales_pixels_by_255_in_index_order()
    {
        byte[] pixels = [0, 255, 51, 1, 10, 20, 30, 40];
        var set = new MnistDataset(pixels, new byte[] { 3, 4 }, 2, 2);
        var dest = new float[8];
        var labels = new int[2];
        set.Fill([1, 0], dest, labels);
        Assert.Equal(new[] { 10 / 255f, 20 / 255f, 30 / 255f, 40 / 255f, 0f, 1f, 51 / 255f, 1 / 255f }, dest);
        Assert.Equal(new[] { 4, 3 }, labels);
    }

    [Fact]
    public void Fill_index_out_of_range_throws()
    {
        var set = new MnistDataset(new byte[4], new byte[] { 3 }, 2, 2);
        Assert.Throws<ArgumentOutOfRangeException>(() => set.Fill([1], new float[4], new int[1]));
        Assert.Throws<ArgumentException>(() => set.Fill([0], new float[3], new int[1]));
    }

    [Fact]
    public void Slice_shares_storage_and_offsets_indices()
    {
        var set = new MnistDataset(Enumerable.Range(0, 12).Select(i => (byte)i).ToArray(), new byte[] { 1, 2, 3 }, 2, 2);
        var tail = set.Slice(1, 2);
        Assert.Equal(2, tail.Count);
        Assert.Equal(3, tail.Label(1));
        Assert.Equal(new byte[] { 8, 9, 10, 11 }, tail.Image(1).ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => set.Slice(2, 2));
    }

    [Fact]
    public void Load_with_corrupt_file_throws_checksum_mismatch_naming_file_and_digests()
    {
        foreach (string name in Mnist.FileNames)
            _dir.Write(name, DataTestFiles.Labels(1));
        var ex = Assert.Throws<ChecksumMismatchException>(() => Mnist.Load(_dir.Path, fetch: false));
        string actual = DataTestFiles.Sha256(DataTestFiles.Labels(1));
        Assert.Equal(Path.Combine(_dir.Path, "train-images-idx3-ubyte"), ex.FileName);
        Assert.Equal("ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db", ex.ExpectedSha256);
        Assert.Equal(actual, ex.ActualSha256);
        Assert.Contains("train-images-idx3-ubyte", ex.Message, StringComparison.Ordinal);
        Assert.Contains(actual, ex.Message, StringComparison.Ordinal);
        Assert.Contains("ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_without_fetch_names_missing_files()
    {
        _dir.Write("train-labels-idx1-ubyte", DataTestFiles.Labels(1));
        var ex = Assert.Throws<FileNotFoundException>(() => Mnist.Load(_dir.Path, fetch: false));
        Assert.Contains("train-images-idx3-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("train-labels", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DefaultDirectory_uses_variable_when_set_else_home_cache()
    {
        // The rule is tested through its pure form: setting the real variable would race with parallel test classes.
        Assert.Equal(_dir.Path, Mnist.ResolveDirectory(_dir.Path, "/home/u"));
        Assert.Equal(Path.Combine("/home/u", ".cache", "cnnsharp", "mnist"), Mnist.ResolveDirectory("", "/home/u"));
        Assert.Equal(Path.Combine("/home/u", ".cache", "cnnsharp", "mnist"), Mnist.ResolveDirectory(null, "/home/u"));
        Assert.Equal(Mnist.ResolveDirectory(Environment.GetEnvironmentVariable(Mnist.DirectoryVariable),
            Environment.GetFolderPath(Environment.SpecialFolder.UserProfile)), Mnist.DefaultDirectory);
    }

    /// <summary>Loads the real data set, fetching it into the default cache on first use (a few seconds, once).</summary>
    [Fact]
    public void Load_real_mnist_has_published_counts_first_label_and_pixel_range()
    {
        var data = Mnist.Load(Mnist.DefaultDirectory);
        Assert.Equal(60000, data.Train.Count);
        Assert.Equal(10000, data.Test.Count);
        Assert.Equal(new Shape(1, 28, 28), data.Train.SampleShape);
        Assert.Equal(5, data.Train.Label(0)); // the first training digit is a 5
        Assert.Equal(7, data.Test.Label(0));  // the first test digit is a 7

        var pixels = new float[16 * 784];
        var labels = new int[16];
        data.Train.Fill(Enumerable.Range(0, 16).ToArray(), pixels, labels);
        Assert.Equal(0f, pixels.Min());
        Assert.Equal(1f, pixels.Max());
        Assert.Equal(new[] { 5, 0, 4, 1, 9, 2, 1, 3, 1, 4, 3, 5, 3, 6, 1, 7 }, labels);

        var counts = new int[10];
        foreach (byte label in data.Train.Labels.Span) counts[label]++;
        Assert.Equal(6742, counts[1]); // the published class histogram: 1 is the most frequent digit
        Assert.Equal(5421, counts[5]);
    }
}
