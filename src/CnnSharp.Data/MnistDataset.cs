using System.Numerics.Tensors;

namespace CnnSharp.Data;

/// <summary>
/// Grey-scale images with class labels 0..9 as stored in MNIST's IDX files: one byte per pixel, row-major, images
/// one after another.
/// </summary>
/// <remarks>
/// As a <see cref="IDataset"/> each sample has shape (1, Rows, Columns) and pixel value <c>x</c> becomes <c>x / 255f</c>
/// in [0, 1], exactly what PyTorch's <c>transforms.ToTensor()</c> produces (no normalisation by mean and std).
/// </remarks>
public sealed class MnistDataset : IDataset
{
    /// <summary>Number of classes (digits 0..9); every label is below it.</summary>
    public const int NumClasses = 10;

    private readonly ReadOnlyMemory<byte> _images;
    private readonly ReadOnlyMemory<byte> _labels;

    /// <summary>Creates a dataset over pixel and label bytes (not copied).</summary>
    /// <param name="images">N * rows * columns pixels, image after image, row-major.</param>
    /// <param name="labels">N labels, each below <see cref="NumClasses"/>.</param>
    /// <param name="rows">Image height.</param>
    /// <param name="columns">Image width.</param>
    /// <exception cref="ArgumentException">The lengths disagree, a size is not positive, or a label is 10 or more.</exception>
    public MnistDataset(ReadOnlyMemory<byte> images, ReadOnlyMemory<byte> labels, int rows = 28, int columns = 28)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rows);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(columns);
        long pixels = (long)rows * columns;
        if (images.Length != labels.Length * pixels)
            throw new ArgumentException(
                $"MnistDataset: {images.Length} pixel bytes do not hold {labels.Length} images of {rows}x{columns} ({labels.Length * pixels} bytes)", nameof(images));
        int bad = FirstInvalidLabel(labels.Span);
        if (bad >= 0)
            throw new ArgumentException($"MnistDataset: label {labels.Span[bad]} at index {bad}, expected 0..{NumClasses - 1}", nameof(labels));
        _images = images;
        _labels = labels;
        Rows = rows;
        Columns = columns;
        SampleShape = new Shape(1, rows, columns);
    }

    /// <summary>Reads a pair of IDX files (images with magic 0x00000803, labels with magic 0x00000801) without checksum verification.</summary>
    /// <param name="imagesPath">Path of the uncompressed image file.</param>
    /// <param name="labelsPath">Path of the uncompressed label file.</param>
    /// <returns>The dataset.</returns>
    /// <exception cref="IdxFormatException">A file is malformed, the image and label counts differ, or a label is 10 or more; the message names the file and byte offset.</exception>
    public static MnistDataset FromFiles(string imagesPath, string labelsPath)
    {
        var images = IdxReader.ReadImages(imagesPath);
        var labels = IdxReader.Read(labelsPath, expectedRank: 1);
        string labelsName = Path.GetFileName(labelsPath);
        int imageCount = images.Shape[0], labelCount = labels.Shape[0];
        if (imageCount != labelCount)
            throw new IdxFormatException(labelsName, 4,
                $"{labelCount} labels (dimension 0 at offset 4) but {Path.GetFileName(imagesPath)} has {imageCount} images, expected equal counts");
        int bad = FirstInvalidLabel(labels.Data);
        if (bad >= 0)
            throw new IdxFormatException(labelsName, labels.PayloadOffset + bad,
                $"label {labels.Data[bad]} at offset {labels.PayloadOffset + bad} (sample {bad}), expected 0..{NumClasses - 1}");
        return new MnistDataset(images.Data, labels.Data, images.Shape[1], images.Shape[2]);
    }

    /// <summary>Number of images.</summary>
    public int Count => _labels.Length;

    /// <summary>Image height in pixels.</summary>
    public int Rows { get; }

    /// <summary>Image width in pixels.</summary>
    public int Columns { get; }

    /// <summary>(1, Rows, Columns): one grey channel.</summary>
    public Shape SampleShape { get; }

    /// <summary>All pixels, <c>Count * Rows * Columns</c> bytes, image after image.</summary>
    public ReadOnlyMemory<byte> Images => _images;

    /// <summary>All labels, one byte (0..9) per image.</summary>
    public ReadOnlyMemory<byte> Labels => _labels;

    /// <summary>The pixels of image <paramref name="index"/>, Rows * Columns bytes.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is outside [0, Count).</exception>
    public ReadOnlySpan<byte> Image(int index)
    {
        CheckIndex(index);
        int size = Rows * Columns;
        return _images.Span.Slice(index * size, size);
    }

    /// <summary>The label (0..9) of image <paramref name="index"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is outside [0, Count).</exception>
    public int Label(int index)
    {
        CheckIndex(index);
        return _labels.Span[index];
    }

    /// <summary>A view of <paramref name="count"/> images starting at <paramref name="start"/> (storage shared), e.g. a small subset for quick runs.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The range is not inside [0, Count].</exception>
    public MnistDataset Slice(int start, int count)
    {
        if ((uint)start > (uint)Count || (uint)count > (uint)(Count - start))
            throw new ArgumentOutOfRangeException(nameof(count), $"Slice({start}, {count}) is outside the dataset's {Count} images");
        int size = Rows * Columns;
        return new MnistDataset(_images.Slice(start * size, count * size), _labels.Slice(start, count), Rows, Columns);
    }

    /// <summary>Writes the images at <paramref name="indices"/> as floats <c>x / 255f</c> and their labels.</summary>
    /// <param name="indices">Image indices in [0, Count).</param>
    /// <param name="destination">Receives <c>indices.Length * Rows * Columns</c> values in [0, 1].</param>
    /// <param name="labels">Receives <c>indices.Length</c> labels.</param>
    /// <exception cref="ArgumentOutOfRangeException">An index is outside [0, Count).</exception>
    /// <exception cref="ArgumentException">A destination span is too short.</exception>
    public void Fill(ReadOnlySpan<int> indices, Span<float> destination, Span<int> labels)
    {
        int size = Rows * Columns;
        DatasetChecks.FillArguments(indices, destination, labels, Count, size);
        ReadOnlySpan<byte> images = _images.Span;
        ReadOnlySpan<byte> allLabels = _labels.Span;
        for (int k = 0; k < indices.Length; k++)
        {
            int i = indices[k];
            var dst = destination.Slice(k * size, size);
            TensorPrimitives.ConvertChecked(images.Slice(i * size, size), dst);
            // Division, not multiplication by 1/255: bitwise equal to PyTorch's ToTensor (img.float().div(255)).
            TensorPrimitives.Divide(dst, 255f, dst);
            labels[k] = allLabels[i];
        }
    }

    private void CheckIndex(int index)
    {
        if ((uint)index >= (uint)Count)
            throw new ArgumentOutOfRangeException(nameof(index), index, $"image index must be in [0, {Count})");
    }

    private static int FirstInvalidLabel(ReadOnlySpan<byte> labels) => labels.IndexOfAnyExceptInRange((byte)0, (byte)(NumClasses - 1));
}
