using System.CommandLine;

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

    public static Option<string?> DataDirectory() => new("--data-dir")
    {
        Description = "Folder with the four MNIST IDX files; fetched there when absent (default: $CNNSHARP_DATA or ~/.cache/cnnsharp/mnist)",
    };

    public static Option<int?> Threads() =>
        NumericOption.OptionalInt("--threads", $"Threads for the kernels, 1 to {MaxThreads} (default: all cores)", max: MaxThreads);

    public static Option<int> BatchSize(string description, int defaultValue) =>
        NumericOption.Int("--batch-size", $"{description}, 1 to {MaxBatchSize}", defaultValue, max: MaxBatchSize,
            why: "larger batches need gigabytes of memory");
}
