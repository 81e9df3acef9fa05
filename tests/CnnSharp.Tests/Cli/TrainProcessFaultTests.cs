using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using CnnSharp.Data;
using CnnSharp.IO;
using CnnSharp.Models;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Cli;

/// <summary>
/// The real <c>cnnsharp train</c> process interrupted by SIGINT, SIGTERM and kill -9, and two processes on one output, on a
/// slice of MNIST small enough that a run takes about a second.
/// </summary>
public sealed partial class TrainProcessFaultTests : IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(90);

    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    // 200 images in batches of 20: ten steps an epoch.
    private static string[] Train(string output, int epochs, params string[] extra) => Train(output, epochs, 200, extra);

    private static string[] Train(string output, int epochs, int limit, params string[] extra) =>
    [
        "train", "--epochs", epochs.ToString(CultureInfo.InvariantCulture), "--limit", limit.ToString(CultureInfo.InvariantCulture), "--test-limit", "100", "--batch-size", "20",
        "--threads", "1", "--lr", "0.003", "--seed", "7", "--output", output, "--data-dir", Mnist.DefaultDirectory, .. extra,
    ];

    // The console wraps long lines (a path, a message) at its width; the assertions read the text as one line.
    private static string Flat(string output) => Regex.Replace(output, @"\s+", " ");

    private static int LoadEpoch(string checkpoint) => Checkpoint.Load(checkpoint, new ConvNet(generator: new Generator(1))).Epoch;

    [GeneratedRegex(@"kept checkpoint (.+) \(epoch (\d+)\); continue with --resume")]
    private static partial Regex KeptCheckpoint();

    [Theory]
    [InlineData("INT", 130)]
    [InlineData("TERM", 143)]
    public void A_signal_after_an_epoch_stops_the_run_and_names_the_kept_checkpoint(string signal, int exitCode)
    {
        string output = _dir.File("run.safetensors");
        using var run = CliProcess.Start(Train(output, epochs: 1000));
        Assert.True(run.WaitForOutput("epoch 2/1000", s_timeout), run.Output);

        run.Signal(signal);

        Assert.Equal(exitCode, run.WaitForExit(s_timeout));
        var kept = KeptCheckpoint().Match(Flat(run.Output));
        Assert.True(kept.Success, run.Output);
        Assert.Equal(output, kept.Groups[1].Value);
        Assert.Equal(int.Parse(kept.Groups[2].Value, CultureInfo.InvariantCulture), LoadEpoch(output));
        Assert.Empty(Directory.GetFiles(_dir.Path, "*.tmp"));
    }

    [Fact]
    public void SIGINT_before_the_first_epoch_says_no_checkpoint_was_written()
    {
        string output = _dir.File("run.safetensors");
        using var run = CliProcess.Start(Train(output, epochs: 3, limit: 20000));
        Assert.True(run.WaitForOutput("Training convnet", s_timeout), run.Output);

        run.Signal("INT");

        Assert.Equal(130, run.WaitForExit(s_timeout));
        Assert.Contains("interrupted (SIGINT): no checkpoint was written", Flat(run.Output), StringComparison.Ordinal);
        Assert.False(File.Exists(output));
    }

    [Fact]
    public void Kill_9_at_random_points_leaves_a_loadable_checkpoint_and_resuming_matches_an_uninterrupted_run()
    {
        const int epochs = 3;
        string reference = _dir.File("reference.safetensors");
        var clock = Stopwatch.StartNew();
        var (code, log) = CliProcess.Run(s_timeout, Train(reference, epochs));
        Assert.True(code == 0, log);
        var duration = clock.Elapsed;
        byte[] want = File.ReadAllBytes(reference);

        int seed = Environment.TickCount;
        var rng = new Random(seed);
        for (int attempt = 0; attempt < 2; attempt++)
        {
            string output = _dir.File($"run{attempt}.safetensors");
            var delay = duration * rng.NextDouble();
            string context = $"seed {seed}, attempt {attempt}, kill after {delay.TotalMilliseconds:F0} ms of a {duration.TotalMilliseconds:F0} ms run";
            int killed;
            using (var run = CliProcess.Start(Train(output, epochs)))
            {
                killed = run.Id;
                Thread.Sleep(delay);
                run.KillHard();
            }

            string[] resume = [];
            if (File.Exists(output))
            {
                int epoch = LoadEpoch(output); // never a partial file
                Assert.InRange(epoch, 1, epochs);
                resume = ["--resume", output];
            }
            (code, log) = CliProcess.Run(s_timeout, Train(output, epochs, resume));
            Assert.True(code == 0, $"{context}\n{log}");

            string[] left = Directory.GetFiles(_dir.Path, "*.tmp");
            Assert.True(left.Length == 0, $"{context}: temporary files left after the next start (killed pid {killed}): {string.Join(", ", left)}");
            Assert.True(want.AsSpan().SequenceEqual(File.ReadAllBytes(output)), $"{context}: the resumed checkpoint differs from the uninterrupted run's");
        }
    }

    [Fact]
    public void A_second_run_on_the_same_output_is_refused_naming_the_first_and_kill_9_frees_the_lock()
    {
        string output = _dir.File("run.safetensors");
        using var first = CliProcess.Start(Train(output, epochs: 1000));
        Assert.True(first.WaitForOutput("epoch 1/1000", s_timeout), first.Output);

        var (code, log) = CliProcess.Run(s_timeout, Train(output, epochs: 1));

        Assert.Equal(1, code);
        Assert.Contains($"{output} is being written by another training run (process {first.Id}", Flat(log), StringComparison.Ordinal);
        Assert.DoesNotContain("epoch 1/1", log, StringComparison.Ordinal);

        first.KillHard();
        (code, log) = CliProcess.Run(s_timeout, Train(output, epochs: 1));
        Assert.True(code == 0, log);
        Assert.Equal(1, LoadEpoch(output));
    }
}
