using System.CommandLine;

namespace CnnSharp.Cli.Commands;

/// <summary>Options shared by several commands.</summary>
internal static class CommonOptions
{
    public static Option<string?> DataDirectory() => new("--data-dir")
    {
        Description = "Folder with the four MNIST IDX files; fetched there when absent (default: $CNNSHARP_DATA or ~/.cache/cnnsharp/mnist)",
    };

    public static Option<int?> Threads() => Positive(new Option<int?>("--threads")
    {
        Description = "Threads for the kernels (default: all cores)",
    });

    public static Option<int?> Positive(Option<int?> option)
    {
        option.Validators.Add(result =>
        {
            if (result.GetValue(option) is int v && v <= 0) result.AddError($"{option.Name} must be a positive integer, got {v}");
        });
        return option;
    }

    public static Option<int> Positive(Option<int> option)
    {
        option.Validators.Add(result =>
        {
            if (result.GetValue(option) is var v && v <= 0) result.AddError($"{option.Name} must be a positive integer, got {v}");
        });
        return option;
    }
}
