namespace CnnSharp.Data;

/// <summary>One image of an <see cref="ImageFolder"/>: its path and class index.</summary>
/// <param name="Path">The image file.</param>
/// <param name="Label">Index of its class in <see cref="ImageFolder.Classes"/>.</param>
public readonly record struct ImageFolderSample(string Path, int Label);

/// <summary>A file an <see cref="ImageFolder"/> left out because it could not be read as an image, and why.</summary>
/// <param name="Path">The file.</param>
/// <param name="Reason">The error message (it names the file).</param>
public readonly record struct SkippedImage(string Path, string Reason);

/// <summary>
/// Images in one sub-folder per class, like torchvision's <c>datasets.ImageFolder</c>: <c>root/cat/1.png</c>,
/// <c>root/dog/a.jpg</c>, ... Each sample is a (C, H, W) tensor in [0, 1] decoded by <see cref="ImageLoader"/>.
/// </summary>
/// <remarks>
/// <para>Classes are the immediate sub-directories of the root, sorted by ordinal name (torchvision's order), and
/// class <c>k</c> is label <c>k</c>. A class's images are its files, at any depth, whose extension is
/// <c>.png</c>, <c>.jpg</c> or <c>.jpeg</c> (any case), sorted by ordinal relative path; other files are ignored.
/// A root without class folders, or a class without images, is refused.</para>
/// <para>Decoding is lazy: <see cref="Fill"/> decodes the images it is asked for (the constructor only lists files),
/// converting to <see cref="Channels"/> channels (1: BT.601 luma, 3: RGB), compositing transparency onto white, and
/// resizing each axis to <see cref="Height"/> x <see cref="Width"/> without keeping the aspect ratio (as
/// <c>Resize((h, w))</c>; area averaging when shrinking, bilinear when enlarging) and without inversion. With
/// <c>cache</c>, each decoded image is kept (C*H*W floats per image) and later reads copy it. <see cref="Fill"/> may be
/// called from several threads at once (the cache tolerates it).</para>
/// <para>An unreadable image makes <see cref="Fill"/> throw the <see cref="ImageFormatException"/> (or
/// <see cref="IOException"/>) that names the file. With <c>skipUnreadable</c> the constructor instead decodes every
/// image once, leaves out those that fail and lists them in <see cref="Skipped"/> (decoding everything up front is the
/// price of knowing which ones fail; with <c>cache</c> the decoded images are kept).</para>
/// </remarks>
public sealed class ImageFolder : IDataset
{
    private static readonly string[] s_extensions = [".png", ".jpg", ".jpeg"];

    private readonly ImageFolderSample[] _samples;
    private readonly float[]?[]? _cache;
    private readonly ImagePreprocessing _preprocessing;
    private readonly int _sampleSize;

    /// <summary>Lists the classes and images under <paramref name="root"/>.</summary>
    /// <param name="root">The directory holding one sub-directory per class.</param>
    /// <param name="channels">1 (grayscale) or 3 (RGB).</param>
    /// <param name="height">Output height in pixels.</param>
    /// <param name="width">Output width in pixels.</param>
    /// <param name="cache">Whether to keep decoded images in memory.</param>
    /// <param name="skipUnreadable">Whether to decode every image now and leave out the unreadable ones (see <see cref="Skipped"/>).</param>
    /// <exception cref="DirectoryNotFoundException"><paramref name="root"/> does not exist.</exception>
    /// <exception cref="FileNotFoundException">The root has no class folder, or a class folder has no image (the message names it).</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="channels"/> is not 1 or 3, or a size is not positive.</exception>
    public ImageFolder(string root, int channels = 3, int height = 32, int width = 32, bool cache = false, bool skipUnreadable = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(root);
        if (channels is not (1 or 3))
            throw new ArgumentOutOfRangeException(nameof(channels), channels, "ImageFolder: channels must be 1 (grayscale) or 3 (RGB)");
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        if (!Directory.Exists(root))
            throw new DirectoryNotFoundException($"ImageFolder: {root} is not a directory");

        Root = Path.GetFullPath(root);
        Channels = channels;
        Height = height;
        Width = width;
        SampleShape = new Shape(channels, height, width);
        _sampleSize = SampleShape.Numel;
        _preprocessing = new ImagePreprocessing(channels, height, width, ImageInversion.Never, KeepAspectRatio: false);

        string[] classDirs = Directory.GetDirectories(Root);
        Array.Sort(classDirs, StringComparer.Ordinal);
        if (classDirs.Length == 0)
            throw new FileNotFoundException($"ImageFolder: {Root} has no class folder (expected {Root}/<class>/<image files>)");
        Classes = Array.ConvertAll(classDirs, d => Path.GetFileName(d)!);

        var samples = new List<ImageFolderSample>();
        for (int label = 0; label < classDirs.Length; label++)
        {
            var files = Directory.EnumerateFiles(classDirs[label], "*", SearchOption.AllDirectories)
                .Where(IsImageFile)
                .Select(f => (Relative: Path.GetRelativePath(classDirs[label], f), Full: f))
                .OrderBy(f => f.Relative, StringComparer.Ordinal)
                .ToList();
            if (files.Count == 0)
                throw new FileNotFoundException($"ImageFolder: class folder {classDirs[label]} has no .png, .jpg or .jpeg file");
            foreach (var f in files)
                samples.Add(new ImageFolderSample(f.Full, label));
        }

        float[]?[]? decoded = cache || skipUnreadable ? new float[]?[samples.Count] : null;
        var skipped = new List<SkippedImage>();
        if (skipUnreadable)
        {
            var errors = new string?[samples.Count];
            Parallel.For(0, samples.Count, i =>
            {
                try { decoded![i] = Decode(samples[i].Path); }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { errors[i] = ex.Message; }
            });
            var kept = new List<ImageFolderSample>();
            var keptPixels = new List<float[]?>();
            for (int i = 0; i < samples.Count; i++)
            {
                if (errors[i] is string reason)
                {
                    skipped.Add(new SkippedImage(samples[i].Path, reason));
                    continue;
                }
                kept.Add(samples[i]);
                keptPixels.Add(decoded![i]);
            }
            samples = kept;
            decoded = cache ? [.. keptPixels] : null;
        }
        _samples = [.. samples];
        _cache = cache ? decoded ?? new float[]?[_samples.Length] : null;
        Skipped = skipped;
    }

    /// <summary>The root directory (full path).</summary>
    public string Root { get; }

    /// <summary>Class names (the sub-folder names), sorted by ordinal; class <c>k</c> has label <c>k</c>.</summary>
    public IReadOnlyList<string> Classes { get; }

    /// <summary>The images and their labels, class after class, each class in ordinal path order.</summary>
    public IReadOnlyList<ImageFolderSample> Samples => _samples;

    /// <summary>The files left out by <c>skipUnreadable</c>, with the reason; empty otherwise.</summary>
    public IReadOnlyList<SkippedImage> Skipped { get; }

    /// <summary>Output channels: 1 or 3.</summary>
    public int Channels { get; }

    /// <summary>Output height.</summary>
    public int Height { get; }

    /// <summary>Output width.</summary>
    public int Width { get; }

    /// <inheritdoc/>
    public int Count => _samples.Length;

    /// <summary>(Channels, Height, Width).</summary>
    public Shape SampleShape { get; }

    /// <summary>The label of sample <paramref name="index"/>.</summary>
    public int Label(int index) => _samples[index].Label;

    /// <summary>Decodes (or copies from the cache) the images at <paramref name="indices"/>.</summary>
    /// <exception cref="ImageFormatException">An image cannot be decoded; the message names the file.</exception>
    /// <exception cref="IOException">An image file cannot be read (e.g. removed since the listing).</exception>
    /// <inheritdoc/>
    public void Fill(ReadOnlySpan<int> indices, Span<float> destination, Span<int> labels)
    {
        DatasetChecks.FillArguments(indices, destination, labels, Count, _sampleSize);
        for (int k = 0; k < indices.Length; k++)
        {
            int i = indices[k];
            float[] pixels;
            if (_cache is null)
            {
                pixels = Decode(_samples[i].Path);
            }
            else
            {
                // Two threads may decode the same image at once; both results are equal, either one is kept.
                pixels = Volatile.Read(ref _cache[i]) ?? Decode(_samples[i].Path);
                Volatile.Write(ref _cache[i], pixels);
            }
            pixels.CopyTo(destination.Slice(k * _sampleSize, _sampleSize));
            labels[k] = _samples[i].Label;
        }
    }

    private float[] Decode(string path) => ImageLoader.Load(path, _preprocessing).Storage; // a fresh tensor: its array is ours

    private static bool IsImageFile(string path)
    {
        string extension = Path.GetExtension(path);
        return Array.Exists(s_extensions, e => e.Equals(extension, StringComparison.OrdinalIgnoreCase));
    }
}
