namespace CnnSharp.Data;

/// <summary>Locates, fetches, verifies and loads Zalando's Fashion-MNIST data set (28x28 grey images of clothing, 10 classes).</summary>
/// <remarks>
/// <para>Fashion-MNIST is a drop-in replacement for MNIST: the same IDX file names, sizes and layout (60,000 training
/// and 10,000 test images), so it loads into the same <see cref="MnistData"/> and <see cref="MnistDataset"/> types,
/// each sample a (1, 28, 28) tensor of <c>x / 255</c>. Label <c>k</c> is the class <see cref="ClassNames"/>[k].</para>
/// <para><see cref="Load"/> fetches missing files with <see cref="FashionMnistFetcher"/> (Debian's
/// <c>dataset-fashion-mnist</c> package), then checks every file's SHA-256 against the published digest before
/// parsing it, so a corrupt or substituted file is refused with <see cref="ChecksumMismatchException"/>.</para>
/// </remarks>
public static class FashionMnist
{
    /// <summary>Image height and width in pixels.</summary>
    public const int ImageSize = 28;

    /// <summary>Number of classes.</summary>
    public const int NumClasses = 10;

    /// <summary>The class names in label order, as torchvision's <c>FashionMNIST.classes</c>: label 0 is "T-shirt/top", 9 is "Ankle boot".</summary>
    public static IReadOnlyList<string> ClassNames { get; } =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>The four files with the SHA-256 and length of their uncompressed contents (the order <see cref="DataFiles.LoadVerified"/> expects).</summary>
    internal static readonly DataFile[] Files =
    [
        new("train-images-idx3-ubyte", "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888", 47_040_016),
        new("train-labels-idx1-ubyte", "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9", 60_008),
        new("t10k-images-idx3-ubyte", "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b", 7_840_016),
        new("t10k-labels-idx1-ubyte", "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34", 10_008),
    ];

    /// <summary>The names of the four uncompressed files a Fashion-MNIST directory holds (the same names as MNIST's).</summary>
    public static IReadOnlyList<string> FileNames { get; } = Array.ConvertAll(Files, f => f.Name);

    /// <summary>
    /// The directory used when none is given: <c>fashion-mnist</c> under the <c>CNNSHARP_DATA</c> directory when that
    /// variable is set and not empty, otherwise <c>~/.cache/cnnsharp/fashion-mnist</c>.
    /// </summary>
    /// <remarks>A sub-directory even with the variable set, because the file names are MNIST's (where the variable names the MNIST directory itself).
    /// Read on every access, so a change of the variable takes effect immediately.</remarks>
    public static string DefaultDirectory =>
        ResolveDirectory(Environment.GetEnvironmentVariable(Mnist.DirectoryVariable), Environment.GetFolderPath(Environment.SpecialFolder.UserProfile));

    /// <summary>The rule behind <see cref="DefaultDirectory"/>, with the variable's value and the home directory as inputs.</summary>
    internal static string ResolveDirectory(string? variable, string home) =>
        DataFiles.ResolveDirectory(variable, home, "fashion-mnist", subdirectory: "fashion-mnist");

    /// <summary>True when all four files exist in <paramref name="directory"/> (their contents are not checked).</summary>
    /// <param name="directory">The directory; null means <see cref="DefaultDirectory"/>.</param>
    public static bool IsPresent(string? directory = null) => DataFiles.Missing(directory ?? DefaultDirectory, Files).Count == 0;

    /// <summary>Loads the training and test sets, fetching missing files first when <paramref name="fetch"/> is true.</summary>
    /// <param name="directory">Directory holding (or to receive) the four uncompressed files; null means <see cref="DefaultDirectory"/>.</param>
    /// <param name="fetch">Whether to fetch missing files with a default <see cref="FashionMnistFetcher"/>.</param>
    /// <param name="progress">Receives fetch progress; unused when nothing is fetched.</param>
    /// <param name="cancellationToken">Cancels a fetch in progress.</param>
    /// <returns>The training set (60,000 images) and the test set (10,000).</returns>
    /// <exception cref="FileNotFoundException">A file is missing and <paramref name="fetch"/> is false.</exception>
    /// <exception cref="IOException">A missing file could not be fetched (apt-get failed or the package is malformed).</exception>
    /// <exception cref="ChecksumMismatchException">A file's SHA-256 differs from the published one.</exception>
    /// <exception cref="IdxFormatException">A file is malformed.</exception>
    public static MnistData Load(string? directory = null, bool fetch = true, IProgress<FetchProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        string dir = directory ?? DefaultDirectory;
        var missing = DataFiles.Missing(dir, Files);
        if (missing.Count > 0)
        {
            if (!fetch)
                throw new FileNotFoundException(
                    $"Fashion-MNIST: {string.Join(", ", missing.Select(f => f.Name))} not found in {dir}; fetch them (fetch: true) or copy the four uncompressed files there");
            new FashionMnistFetcher().Fetch(dir, progress, cancellationToken);
        }
        return DataFiles.LoadVerified(dir, Files, ImageSize);
    }
}
