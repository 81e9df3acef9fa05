using System.Globalization;
using System.Text;

namespace CnnSharp.IO;

/// <summary>
/// An exclusive, process-lifetime lock on an output file, so two training runs never write one checkpoint: an OS lock
/// on an open handle of <c>{output}.lock</c>, held until <see cref="Dispose"/> or the end of the process.
/// </summary>
/// <remarks>
/// <para>The operating system drops the lock when the holder dies, even by kill -9, so a crashed run never blocks the next
/// one; the lock file itself stays on disk and means nothing while no process holds its lock. (Deleting it on release
/// would let a run that opened the old file lock a file no longer at that path while a third run locks a new one.)</para>
/// <para>On Linux and Windows the lock is a byte-range lock past the file's text, and the holder writes its process id,
/// start time and command line into the file, so a refused run can name it. POSIX drops a process's byte-range locks when
/// it closes any handle of the file, so this process never opens a held lock file a second time: a second run in the same
/// process is refused from a table of held paths. Where byte-range locks are unsupported (macOS) the handle is opened
/// without sharing (flock) and the holder cannot be named.</para>
/// </remarks>
internal sealed class OutputLock : IDisposable
{
    // Past any text the holder writes, so readers of the text never touch the locked byte (Windows locks are mandatory).
    private const long LockOffset = 1L << 32;

    private static readonly HashSet<string> s_held = new(StringComparer.Ordinal);

    private FileStream? _stream;
    private readonly string _lockPath;

    private OutputLock(FileStream stream, string lockPath)
    {
        _stream = stream;
        _lockPath = lockPath;
    }

    /// <summary>The lock file's path.</summary>
    public string LockPath => _lockPath;

    /// <summary>Takes the lock of <paramref name="outputPath"/> or throws at once (never waits).</summary>
    /// <exception cref="OutputLockedException">Another live run holds it; the message names the output, the lock file and the holder.</exception>
    /// <exception cref="IOException">The lock file cannot be created (e.g. the directory is missing or read-only).</exception>
    public static OutputLock Acquire(string outputPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(outputPath);
        string lockPath = Path.GetFullPath(outputPath) + ".lock";
        lock (s_held)
        {
            if (!s_held.Add(lockPath))
                throw Locked(outputPath, lockPath, $"process {Environment.ProcessId.ToString(CultureInfo.InvariantCulture)} (this process)");
        }
        try
        {
            var held = new OutputLock(Open(outputPath, lockPath), lockPath);
            held.DescribeOwner();
            return held;
        }
        catch
        {
            lock (s_held) s_held.Remove(lockPath);
            throw;
        }
    }

    private static FileStream Open(string outputPath, string lockPath)
    {
        if (OperatingSystem.IsMacOS() || OperatingSystem.IsMacCatalyst() || OperatingSystem.IsIOS() || OperatingSystem.IsTvOS() || OperatingSystem.IsFreeBSD())
        {
            try
            {
                return new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException e) when (e is not FileNotFoundException and not DirectoryNotFoundException && File.Exists(lockPath))
            {
                throw Locked(outputPath, lockPath, null);
            }
        }
        var stream = new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
        try
        {
            stream.Lock(LockOffset, 1);
            return stream;
        }
        catch (IOException)
        {
            string? owner = ReadOwner(stream);
            stream.Dispose();
            throw Locked(outputPath, lockPath, owner);
        }
    }

    private static string? ReadOwner(FileStream stream)
    {
        try
        {
            var buffer = new byte[4096];
            stream.Position = 0;
            int n = stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
            string text = Encoding.UTF8.GetString(buffer, 0, n).Trim();
            return text.Length == 0 ? null : text;
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static OutputLockedException Locked(string outputPath, string lockPath, string? owner) => new(
        $"{outputPath} is being written by another training run ({owner ?? "a live process holds the lock"}); lock file {lockPath}. " +
        "Wait for that run to finish or stop it, or choose another output",
        lockPath, owner);

    // Written after the lock is held, for the message of a refused run.
    private void DescribeOwner()
    {
        if (OperatingSystem.IsMacOS() || OperatingSystem.IsMacCatalyst() || OperatingSystem.IsIOS() || OperatingSystem.IsTvOS() || OperatingSystem.IsFreeBSD())
            return;
        string started = DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        string text = $"process {Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}, started {started}: {Environment.CommandLine}";
        if (text.Length > 1000) text = text[..1000];
        _stream!.SetLength(0);
        _stream.Write(Encoding.UTF8.GetBytes(text));
        _stream.Flush();
    }

    /// <summary>Releases the lock (the lock file stays).</summary>
    public void Dispose()
    {
        if (_stream is null) return;
        _stream.Dispose();
        _stream = null;
        lock (s_held) s_held.Remove(_lockPath);
    }
}
