using System.CommandLine;
using System.Globalization;

namespace CnnSharp.Cli.Commands;

/// <summary>Options shared by several commands, and the documented bounds of the numeric ones.</summary>
internal static class CommonOptions
{
    /// <summary>
    /// The most images one <c>--batch-size</c> may ask for: memory grows with the batch (about 0.25 MB per image when
    /// evaluating, 0.15 MB when training), so 4,096 stays near 1 GB while 100,000 took 9 GB.
    /// </summary>
    public const int MaxBatchSize = 4096;

    /// <summary>The most threads <c>--threads</c> may ask for; every one becomes a worker thread of the kernel pool.</summary>
    public const int MaxThreads = 1024;

    /// <summary>The MNIST training set's size, the bound of <c>train --limit</c> (the files are checked against their digests, so it is exact).</summary>
    public const int TrainImages = 60_000;

    /// <summary>The MNIST test set's size, the bound of <c>train --test-limit</c> and <c>evaluate --limit</c>.</summary>
    public const int TestImages = 10_000;

    public static Option<string?> DataDirectory() => new("--data-dir")
    {
        Description = "Folder with the four MNIST IDX files; fetched there when absent (default: $CNNSHARP_DATA or ~/.cache/cnnsharp/mnist)",
    };

    public static Option<int?> Threads() =>
        NumericOption.OptionalInt("--threads", $"Threads for the kernels, 1 to {MaxThreads} (default: all cores)", max: MaxThreads);

    public static Option<int> BatchSize(string description, int defaultValue) =>
        NumericOption.Int("--batch-size", $"{description}, 1 to {MaxBatchSize}", defaultValue, max: MaxBatchSize,
            why: "larger batches need gigabytes of memory");

    /// <summary>A <c>--limit</c>-style option: the first N images of a data set of <paramref name="size"/> images.</summary>
    public static Option<int?> Limit(string name, string description, int size, string dataset)
    {
        string count = size.ToString("N0", CultureInfo.InvariantCulture);
        return NumericOption.OptionalInt(name, $"{description} (1 to {count})", max: size, why: $"the {dataset} has {count} images");
    }
}
