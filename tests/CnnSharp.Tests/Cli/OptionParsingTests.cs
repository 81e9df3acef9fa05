using System.CommandLine.Help;
using System.Diagnostics;
using CnnSharp.Cli;
using CnnSharp.Cli.Commands;
using Spectre.Console;

namespace CnnSharp.Tests.Cli;

/// <summary>
/// Every numeric option of every command, given text that is no number or a number out of range: a parse error naming
/// the option and the value, exit code 2, and no crash (the validators once read unconverted values and aborted the process).
/// </summary>
public sealed class OptionParsingTests
{
    /// <summary>Each command with the arguments it needs besides the option under test.</summary>
    private static readonly Dictionary<string, string[]> s_commands = new()
    {
        ["train"] = ["train"],
        ["evaluate"] = ["evaluate"],
        ["predict"] = ["predict", "--model", "m.onnx", "a.png"],
        ["export"] = ["export", "--checkpoint", "c.safetensors", "--output", "o.onnx"],
    };

    public static TheoryData<string, string> NumericOptions => new()
    {
        { "train", "--epochs" }, { "train", "--batch-size" }, { "train", "--lr" }, { "train", "--momentum" }, { "train", "--seed" },
        { "train", "--threads" }, { "train", "--limit" }, { "train", "--test-limit" },
        { "evaluate", "--batch-size" }, { "evaluate", "--threads" }, { "evaluate", "--limit" },
        { "predict", "--topk" }, { "predict", "-k" }, { "predict", "--threads" },
        { "export", "--opset" }, { "export", "--batch" },
    };

    private static (int ExitCode, string Output) Invoke(string command, params string[] extra) =>
        CliRunner.Invoke(200, [.. s_commands[command], .. extra]);

    [Theory]
    [MemberData(nameof(NumericOptions))]
    public void Text_that_is_no_number_is_a_usage_error_naming_the_option_and_the_value(string command, string option)
    {
        foreach (string value in new[] { "abc", "inf", "1.5.2", "", "0x10" })
        {
            var (code, output) = Invoke(command, option, value);
            Assert.True(code == Program.UsageError, $"{command} {option} '{value}': exit {code}\n{output}");
            Assert.Contains($"'{value}' is not a", output, StringComparison.Ordinal);
            Assert.Contains(option == "-k" ? "--topk" : option, output, StringComparison.Ordinal);
            Assert.DoesNotContain("Exception", output, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("train", "--epochs", "0")]
    [InlineData("train", "--epochs", "-3")]
    [InlineData("train", "--epochs", "99999999999")]
    [InlineData("train", "--batch-size", "0")]
    [InlineData("train", "--batch-size", "100000")]
    [InlineData("train", "--batch-size", "4097")]
    [InlineData("train", "--lr", "Infinity")]
    [InlineData("train", "--lr", "-Infinity")]
    [InlineData("train", "--lr", "NaN")]
    [InlineData("train", "--lr", "nan")]
    [InlineData("train", "--lr", "-1")]
    [InlineData("train", "--lr", "0")]
    [InlineData("train", "--lr", "1e39")]
    [InlineData("train", "--momentum", "-0.5")]
    [InlineData("train", "--momentum", "NaN")]
    [InlineData("train", "--seed", "-1")]
    [InlineData("train", "--seed", "18446744073709551616")]
    [InlineData("train", "--threads", "0")]
    [InlineData("train", "--threads", "1025")]
    [InlineData("train", "--limit", "0")]
    [InlineData("train", "--limit", "2147483648")]
    [InlineData("train", "--test-limit", "-1")]
    [InlineData("evaluate", "--limit", "0")]
    [InlineData("evaluate", "--batch-size", "100000")]
    [InlineData("evaluate", "--batch-size", "-1")]
    [InlineData("evaluate", "--threads", "2147483648")]
    [InlineData("predict", "--topk", "0")]
    [InlineData("predict", "-k", "-1")]
    [InlineData("predict", "--threads", "5000")]
    [InlineData("export", "--opset", "12")]
    [InlineData("export", "--opset", "18")]
    [InlineData("export", "--opset", "-2147483649")]
    public void Out_of_range_values_are_a_usage_error_naming_the_option_and_the_value(string command, string option, string value)
    {
        var (code, output) = Invoke(command, option, value);
        Assert.True(code == Program.UsageError, $"exit {code}\n{output}");
        Assert.Contains($"{(option == "-k" ? "--topk" : option)} must be ", output, StringComparison.Ordinal);
        Assert.Contains(value, output, StringComparison.Ordinal);
    }

    [Fact]
    public void Limits_and_batch_sizes_name_their_bound_and_why()
    {
        var (_, limit) = Invoke("train", "--limit", "0");
        Assert.Contains("--limit must be a positive integer, got 0", limit, StringComparison.Ordinal);
        var (_, batch) = Invoke("train", "--batch-size", "100000");
        Assert.Contains($"--batch-size must be an integer from 1 to {CommonOptions.MaxBatchSize:N0}", batch, StringComparison.Ordinal);
    }

    [Fact]
    public void The_bounds_themselves_are_accepted()
    {
        // The limits are bounded by the data set at run time, not by MNIST's sizes when parsing.
        var (options, errors) = TrainCommand.Parse("--limit", "99999999", "--test-limit", "20000", "--batch-size", "4096", "--threads", "1024",
            "--lr", "1e-3", "--momentum", "0", "--seed", "18446744073709551615", "--epochs", "2147483647");
        Assert.Empty(errors);
        Assert.Equal(99_999_999, options!.Limit);
        Assert.Equal(20_000, options.TestLimit);
        Assert.Equal(4096, options.Training.BatchSize);
        Assert.Equal(1e-3f, options.Training.LearningRate);
        Assert.Equal(ulong.MaxValue, options.Training.Seed);
        Assert.Equal(int.MaxValue, options.Training.Epochs);
        Assert.Empty(Parse("evaluate", "--limit", "50000", "--batch-size", "4096").Errors);
        Assert.Empty(Parse("export", "-c", "c", "-o", "o", "--opset", "17").Errors);
    }

    [Fact]
    public void Several_bad_options_are_all_reported()
    {
        var errors = Parse("train", "--epochs", "abc", "--lr", "inf", "--limit", "0").Errors.Select(e => e.Message).ToList();
        Assert.Contains(errors, e => e.StartsWith("--epochs: 'abc'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("--lr: 'inf'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("--limit must be", StringComparison.Ordinal));
    }

    private static System.CommandLine.ParseResult Parse(params string[] args) => Program.Parse(Program.BuildRootCommand(SilentConsole()), args);

    private static IAnsiConsole SilentConsole() =>
        AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(TextWriter.Null), Interactive = InteractionSupport.No });

    /// <summary>
    /// Random command lines built from the real option names and hostile values: parsing never throws, a command line
    /// with errors (and no --help) exits 2 without running anything, and one without errors binds every <c>train</c> option.
    /// </summary>
    [Fact]
    public void Random_command_lines_never_throw()
    {
        string[] words =
        [
            "train", "evaluate", "predict", "export", "--epochs", "--batch-size", "--lr", "--momentum", "--seed", "--threads", "--limit",
            "--test-limit", "--optimizer", "--output", "-o", "--resume", "--generic", "--data-dir", "--checkpoint", "-c", "--model", "-m",
            "--topk", "-k", "--opset", "--no-invert", "--help", "--version", "-", "--", "@", "@/nonexistent/response.rsp", "0", "1", "-1",
            "abc", "inf", "NaN", "1e39", "4096", "99999999999999999999", "", " ", "\0", "é", "--lr=inf", "--epochs:2", "adam", "sgd", "a.png",
        ];
        var random = new Random(20261203);
        var console = SilentConsole();
        for (int i = 0; i < 2000; i++)
        {
            var args = Enumerable.Range(0, random.Next(0, 8)).Select(_ => words[random.Next(words.Length)]).ToArray();
            if (random.Next(3) == 0 && args.Length > 0) args[random.Next(args.Length)] = RandomText(random);
            var parse = Program.Parse(Program.BuildRootCommand(console), args);
            // --help wins over errors (it prints help, exit 0); otherwise a command line with errors never runs its command.
            if (parse.Errors.Count > 0 && parse.Action is not HelpAction)
            {
                int code = Program.Invoke(parse, new System.CommandLine.InvocationConfiguration { Output = TextWriter.Null, Error = TextWriter.Null });
                Assert.True(code == Program.UsageError, $"exit {code} for [{string.Join(", ", args.Select(a => $"'{a}'"))}]: {string.Join("; ", parse.Errors.Select(e => e.Message))}");
            }
            else if (parse.Errors.Count == 0 && args.Length > 0 && args[0] == "train" && !args.Contains("--help") && !args.Contains("--version"))
            {
                var (options, errors) = TrainCommand.Parse(args[1..]);
                Assert.Empty(errors);
                options!.Training.Validate();
            }
        }
    }

    private static string RandomText(Random random)
    {
        var chars = new char[random.Next(0, 12)];
        for (int i = 0; i < chars.Length; i++) chars[i] = (char)random.Next(0, 0x300);
        return new string(chars);
    }

    /// <summary>The real executable, not the in-process tree: a bad number once ended it with SIGABRT (exit 134).</summary>
    [Fact]
    public async Task The_built_executable_exits_2_on_a_bad_number_without_aborting()
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "CnnSharp.Cli.dll");
        Assert.True(File.Exists(dll), dll);
        foreach (string[] args in new[] { new[] { "train", "--lr", "inf" }, ["evaluate", "--batch-size", "abc"] })
        {
            var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            start.ArgumentList.Add(dll);
            foreach (string a in args) start.ArgumentList.Add(a);
            using var process = Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            string stderr = await process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
            await process.WaitForExitAsync(timeout.Token);
            string output = await stdout + stderr;
            Assert.True(process.ExitCode == Program.UsageError, $"{string.Join(' ', args)}: exit {process.ExitCode}\n{output}");
            Assert.Contains($"{args[1]}: '{args[2]}' is not a", stderr, StringComparison.Ordinal);
            Assert.DoesNotContain("Unhandled exception", output, StringComparison.Ordinal);
        }
    }
}
