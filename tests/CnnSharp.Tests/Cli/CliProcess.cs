using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace CnnSharp.Tests.Cli;

/// <summary>
/// The real <c>cnnsharp</c> process (the CLI assembly the test project references, run by the same dotnet host), with its
/// output collected line by line, for tests that signal or kill it.
/// </summary>
internal sealed class CliProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly Lock _gate = new();

    private CliProcess(Process process)
    {
        _process = process;
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public int Id => _process.Id;

    /// <summary>Everything written so far to standard output and error.</summary>
    public string Output
    {
        get
        {
            lock (_gate) return _output.ToString();
        }
    }

    private const string EnvTool = "/usr/bin/env";

    public static CliProcess Start(params string[] args)
    {
        // A test run started from a background job or script inherits SIGINT ignored, and so would the CLI; coreutils'
        // env restores the default disposition so the signal tests test the CLI, not how the test run was launched.
        bool resetSignals = OperatingSystem.IsLinux() && File.Exists(EnvTool);
        var info = new ProcessStartInfo(resetSignals ? EnvTool : DotnetHost())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (resetSignals)
        {
            info.ArgumentList.Add("--default-signal=INT");
            info.ArgumentList.Add(DotnetHost());
        }
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "CnnSharp.Cli.dll"));
        foreach (string a in args) info.ArgumentList.Add(a);
        return new CliProcess(Process.Start(info) ?? throw new InvalidOperationException("could not start the CLI"));
    }

    /// <summary>Runs the command line to the end.</summary>
    public static (int ExitCode, string Output) Run(TimeSpan timeout, params string[] args)
    {
        using var p = Start(args);
        int code = p.WaitForExit(timeout);
        return (code, p.Output);
    }

    /// <summary>Waits until the output contains <paramref name="text"/>; false when the process ended or the time ran out first.</summary>
    public bool WaitForOutput(string text, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (Output.Contains(text, StringComparison.Ordinal)) return true;
            if (_process.HasExited) return Output.Contains(text, StringComparison.Ordinal);
            Thread.Sleep(10);
        }
        return false;
    }

    /// <summary>Sends SIGINT or SIGTERM (the test runs on Linux or macOS).</summary>
    public void Signal(string name)
    {
        using var kill = Process.Start("kill", ["-" + name, Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
        Assert.Equal(0, kill.ExitCode);
    }

    /// <summary>SIGKILL: the process gets no chance to clean up.</summary>
    public void KillHard()
    {
        _process.Kill();
        _process.WaitForExit();
    }

    /// <summary>Waits for the exit and for the last output; the exit code (fails the test on timeout).</summary>
    public int WaitForExit(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout))
        {
            _process.Kill(entireProcessTree: true);
            Assert.Fail($"cnnsharp did not exit within {timeout.TotalSeconds} s; output:\n{Output}");
        }
        _process.WaitForExit(); // flushes the asynchronous output readers
        return _process.ExitCode;
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_gate) _output.AppendLine(line);
    }

    // The host running the tests (dotnet test exports it), else the dotnet beside the running runtime.
    private static string DotnetHost()
    {
        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host)) return host;
        string root = Path.GetFullPath(Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", ".."));
        string candidate = Path.Combine(root, OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet");
        return File.Exists(candidate) ? candidate : "dotnet";
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
        }
        _process.Dispose();
    }
}
