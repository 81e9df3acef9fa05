namespace CnnSharp.Data;

/// <summary>The MNIST training (60,000 images) and test (10,000 images) sets.</summary>
public sealed class MnistData
{
    internal MnistData(MnistDataset train, MnistDataset test)
    {
        Train = train;
        Test = test;
    }

    /// <summary>The training set (train-images-idx3-ubyte, train-labels-idx1-ubyte), 60,000 images.</summary>
    public MnistDataset Train { get; }

    /// <summary>The test set (t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte), 10,000 images.</summary>
    public MnistDataset Test { get; }
}

/// <summary>Locates, fetches, verifies and loads the MNIST handwritten-digit data set.</summary>
/// <remarks>
/// The four uncompressed IDX files live in one directory. <see cref="Load"/> fetches the missing ones (see
/// <see cref="MnistFetcher"/>), then checks every file's SHA-256 against the published digest before parsing it,
/// so a corrupt or substituted file is refused with <see cref="ChecksumMismatchException"/>.
/// </remarks>
public static class Mnist
{
    /// <summary>Image height and width in pixels.</summary>
    public const int ImageSize = 28;

    /// <summary>Number of classes (digits 0..9).</summary>
    public const int NumClasses = 10;

    /// <summary>Name of the environment variable that overrides <see cref="DefaultDirectory"/>.</summary>
    public const string DirectoryVariable = "CNNSHARP_DATA";

    /// <summary>The four files with the SHA-256 and length of their uncompressed contents.</summary>
    internal static readonly DataFile[] Files =
    [
        new("train-images-idx3-ubyte", "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db", 47_040_016),
        new("train-labels-idx1-ubyte", "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5", 60_008),
        new("t10k-images-idx3-ubyte", "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7", 7_840_016),
        new("t10k-labels-idx1-ubyte", "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2", 10_008),
    ];

    /// <summary>The names of the four uncompressed files a MNIST directory holds.</summary>
    public static IReadOnlyList<string> FileNames { get; } = Array.ConvertAll(Files, f => f.Name);

    /// <summary>
    /// The directory used when none is given: the value of the <c>CNNSHARP_DATA</c> environment variable when it is
    /// set and not empty, otherwise <c>~/.cache/cnnsharp/mnist</c> (under the user's profile directory).
    /// </summary>
    /// <remarks>Read on every access, so a change of the variable takes effect immediately.</remarks>
    public static string DefaultDirectory =>
        ResolveDirectory(Environment.GetEnvironmentVariable(DirectoryVariable), Environment.GetFolderPath(Environment.SpecialFolder.UserProfile));

    /// <summary>The rule behind <see cref="DefaultDirectory"/>, with the variable's value and the home directory as inputs.</summary>
    internal static string ResolveDirectory(string? variable, string home) =>
        DataFiles.ResolveDirectory(variable, home, "mnist", subdirectory: null);

    /// <summary>True when all four files exist in <paramref name="directory"/> (their contents are not checked).</summary>
    /// <param name="directory">The directory; null means <see cref="DefaultDirectory"/>.</param>
    public static bool IsPresent(string? directory = null) => DataFiles.Missing(directory ?? DefaultDirectory, Files).Count == 0;

    /// <summary>Loads the training and test sets, fetching missing files first when <paramref name="fetch"/> is true.</summary>
    /// <param name="directory">Directory holding (or to receive) the four uncompressed files; null means <see cref="DefaultDirectory"/>.</param>
    /// <param name="fetch">Whether to download missing files with a default <see cref="MnistFetcher"/>.</param>
    /// <param name="progress">Receives fetch progress; unused when nothing is fetched.</param>
    /// <param name="cancellationToken">Cancels a fetch in progress.</param>
    /// <returns>The training and test sets.</returns>
    /// <exception cref="FileNotFoundException">A file is missing and <paramref name="fetch"/> is false.</exception>
    /// <exception cref="IOException">A missing file could not be fetched from any source.</exception>
    /// <exception cref="ChecksumMismatchException">A file's SHA-256 differs from the published one.</exception>
    /// <exception cref="IdxFormatException">A file is malformed (only possible with a matching checksum if the table were wrong).</exception>
    public static MnistData Load(string? directory = null, bool fetch = true, IProgress<FetchProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        string dir = directory ?? DefaultDirectory;
        if (!IsPresent(dir))
        {
            if (!fetch)
            {
                string missing = string.Join(", ", DataFiles.Missing(dir, Files).Select(f => f.Name));
                throw new FileNotFoundException(
                    $"MNIST: {missing} not found in {dir}; fetch them (fetch: true) or copy the four uncompressed files there");
            }
            new MnistFetcher().Fetch(dir, progress, cancellationToken);
        }

        return DataFiles.LoadVerified(dir, Files, ImageSize);
    }
}
