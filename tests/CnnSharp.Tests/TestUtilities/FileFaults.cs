using System.Diagnostics;
using CnnSharp.IO;

namespace CnnSharp.Tests.TestUtilities;

/// <summary>
/// File-system faults for the tests: a full disk and a read-only directory, injected into <see cref="AtomicFile"/> for the
/// current flow of execution (so parallel tests are unaffected), and the id of a process that has exited.
/// </summary>
internal static class FileFaults
{
    /// <summary>
    /// The <paramref name="failOnOpen"/>-th file <see cref="AtomicFile"/> opens from now on (1 = the next) fails with ENOSPC's
    /// message once more than <paramref name="afterBytes"/> bytes were written to it; dispose to end the fault.
    /// </summary>
    public static IDisposable DiskFull(int failOnOpen, long afterBytes)
    {
        int opens = 0;
        return Inject(stream => ++opens == failOnOpen ? new FullDiskStream(stream, afterBytes) : stream);
    }

    /// <summary>
    /// Creates <paramref name="path"/> without write permission. Where permissions do not stop this process (root), the
    /// refusal the OS would give is injected into <see cref="AtomicFile"/> for files in that directory.
    /// </summary>
    public static ReadOnlyDirectoryScope ReadOnlyDirectory(string path)
    {
        Directory.CreateDirectory(path);
        if (OperatingSystem.IsWindows()) throw new PlatformNotSupportedException("the fault tests use Unix permissions");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute);
        IDisposable? injected = null;
        if (CanCreateFileIn(path))
        {
            string dir = Path.GetFullPath(path);
            injected = Inject(stream =>
            {
                if (stream is not FileStream file || Path.GetDirectoryName(file.Name) != dir) return stream;
                string name = file.Name;
                stream.Dispose();
                throw new UnauthorizedAccessException($"Access to the path '{name}' is denied.");
            });
        }
        return new ReadOnlyDirectoryScope(path, injected);
    }

    /// <summary>The id of a process that has exited (a finished <c>true</c>).</summary>
    public static int DeadProcessId()
    {
        using var p = Process.Start("true") ?? throw new InvalidOperationException("cannot start true");
        p.WaitForExit();
        return p.Id;
    }

    private static bool CanCreateFileIn(string directory)
    {
        string probe = Path.Combine(directory, "probe-" + Guid.NewGuid().ToString("N"));
        try
        {
            File.WriteAllBytes(probe, []);
            File.Delete(probe);
            return true;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static Scope Inject(Func<Stream, Stream> fault)
    {
        var previous = AtomicFile.FaultInjection.Value;
        AtomicFile.FaultInjection.Value = fault;
        return new Scope(() => AtomicFile.FaultInjection.Value = previous);
    }

    private sealed class Scope(Action end) : IDisposable
    {
        public void Dispose() => end();
    }

    internal sealed class ReadOnlyDirectoryScope(string path, IDisposable? injected) : IDisposable
    {
        public string Path { get; } = System.IO.Path.GetFullPath(path);

        public void Dispose()
        {
            injected?.Dispose();
            if (!OperatingSystem.IsWindows())
                File.SetUnixFileMode(Path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    /// <summary>Passes writes through until the budget is spent, then throws as a full disk does.</summary>
    private sealed class FullDiskStream(Stream inner, long budget) : Stream
    {
        private long _written;

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => inner.Length;
        public override long Position { get => inner.Position; set => throw new NotSupportedException(); }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            long room = budget - _written;
            if (buffer.Length > room)
            {
                inner.Write(buffer[..(int)Math.Max(0, room)]);
                _written = budget;
                throw new IOException($"No space left on device : '{(inner as FileStream)?.Name}'", 28);
            }
            inner.Write(buffer);
            _written += buffer.Length;
        }

        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing) inner.Dispose();
            base.Dispose(disposing);
        }
    }
}
