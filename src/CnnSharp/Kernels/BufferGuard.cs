using System.Collections.Concurrent;
using System.Diagnostics;

namespace CnnSharp.Kernels;

/// <summary>
/// Diagnostics for the kernels' raw-pointer buffers (<see cref="Direct.AlignedBuffer"/>, <see cref="Scratch"/>), off unless
/// the environment variable <c>CNNSHARP_BUFFER_GUARD</c> names a log file when the process starts: then every such buffer
/// gets canary floats around its usable range, checked when the buffer is dropped, and every dropped buffer is kept in a
/// quarantine filled with canaries, checked when it leaves it (and at exit), so a write past a buffer's end or through a
/// pointer that outlived its buffer is reported with the buffer's allocation stack instead of corrupting whatever the
/// memory holds next.
/// </summary>
/// <remarks>Reports are appended to the log file, one block per finding; nothing is thrown (a finaliser must not).</remarks>
internal static class BufferGuard
{
    /// <summary>Canary floats after each guarded buffer's usable range.</summary>
    public const int GuardFloats = 64;

    // A NaN no kernel produces from finite data: quiet NaN with payload 0x0DEAD.
    private const int CanaryBits = 0x7FC0DEAD;

    private const long QuarantineFloats = 16L << 20;

    private static readonly string? s_log = Environment.GetEnvironmentVariable("CNNSHARP_BUFFER_GUARD");
    private static readonly ConcurrentQueue<Quarantined> s_quarantine = new();
    private static readonly ConcurrentQueue<string> s_recent = new();
    private static long s_quarantined;
    private static int s_findings;

    static BufferGuard()
    {
        if (s_log is null) return;
        AppDomain.CurrentDomain.ProcessExit += (_, _) => DrainQuarantine();
        // Optional: full collections every N ms, so dropped buffers are finalised (and checked) soon after they die.
        if (int.TryParse(Environment.GetEnvironmentVariable("CNNSHARP_BUFFER_GUARD_GC_MS"), out int ms) && ms > 0)
            new Thread(() => { while (true) { Thread.Sleep(ms); GC.Collect(); } }) { IsBackground = true, Name = "BufferGuard GC" }.Start();
    }

    /// <summary>Whether guarding is on (the environment variable was set).</summary>
    public static bool Enabled => s_log is not null;

    /// <summary>Findings so far (tests).</summary>
    public static int Findings => Volatile.Read(ref s_findings);

    /// <summary>Fills <c>array[from, to)</c> with canaries.</summary>
    public static void Fill(float[] array, int from, int to) =>
        array.AsSpan(from, to - from).Fill(BitConverter.Int32BitsToSingle(CanaryBits));

    /// <summary>The first index in <c>array[from, to)</c> that is not a canary, or -1.</summary>
    public static int FirstTouched(float[] array, int from, int to)
    {
        for (int i = from; i < to; i++)
            if (BitConverter.SingleToInt32Bits(array[i]) != CanaryBits) return i;
        return -1;
    }

    /// <summary>Checks the canaries of a dropped buffer's guard regions, then quarantines the array.</summary>
    public static void Retire(float[] array, int start, int length, string what, StackTrace? allocated)
    {
        int before = FirstTouched(array, 0, start), after = FirstTouched(array, start + length, array.Length);
        if (before >= 0 || after >= 0)
            Report($"{what}: write outside the usable range [{start}, {start + length}) of {array.Length} floats: "
                + (before >= 0 ? $"index {before} = {array[before]:R} " : "") + (after >= 0 ? $"index {after} = {array[after]:R}" : ""), allocated);
        Quarantine(array, what, allocated);
    }

    /// <summary>Fills a dropped buffer with canaries and keeps it, checking it when it leaves the quarantine.</summary>
    public static void Quarantine(float[] array, string what, StackTrace? allocated)
    {
        Fill(array, 0, array.Length);
        s_quarantine.Enqueue(new Quarantined(array, what, allocated));
        if (Interlocked.Add(ref s_quarantined, array.Length) <= QuarantineFloats) return;
        while (Interlocked.Read(ref s_quarantined) > QuarantineFloats / 2 && s_quarantine.TryDequeue(out var old))
        {
            Interlocked.Add(ref s_quarantined, -old.Array.Length);
            old.Check();
        }
    }

    /// <summary>Checks every quarantined buffer (at exit, and from tests).</summary>
    public static void DrainQuarantine()
    {
        while (s_quarantine.TryDequeue(out var q))
        {
            Interlocked.Add(ref s_quarantined, -q.Array.Length);
            q.Check();
        }
    }

    /// <summary>The last findings' first lines (tests).</summary>
    public static IReadOnlyCollection<string> Recent => s_recent;

    /// <summary>Records a finding and appends it, with the stacks, to the log.</summary>
    public static void Report(string message, StackTrace? allocated)
    {
        Interlocked.Increment(ref s_findings);
        s_recent.Enqueue(message);
        while (s_recent.Count > 32) s_recent.TryDequeue(out _);
        if (s_log is null) return;
        string text = $"=== {DateTime.UtcNow:O} thread {Environment.CurrentManagedThreadId}: {message}\n"
            + (allocated is null ? "" : $"allocated at:\n{allocated}\n") + $"detected at:\n{new StackTrace(1, false)}\n";
        lock (s_recent) File.AppendAllText(s_log, text);
    }

    private sealed record Quarantined(float[] Array, string What, StackTrace? Allocated)
    {
        public void Check()
        {
            int i = FirstTouched(Array, 0, Array.Length);
            if (i < 0) return;
            int last = i, count = 0;
            for (int j = i; j < Array.Length; j++)
                if (BitConverter.SingleToInt32Bits(Array[j]) != CanaryBits) (last, count) = (j, count + 1);
            Report($"{What}: written after it was dropped: {count} floats in [{i}, {last}], first = {Array[i]:R}", Allocated);
        }
    }

    /// <summary>Owned by a guarded buffer: dies with it, and its finaliser retires the array.</summary>
    public sealed class Sentinel
    {
        private readonly float[] _array;
        private readonly int _start, _length;
        private readonly string _what;
        private readonly StackTrace _allocated = new(2, false);

        public Sentinel(float[] array, int start, int length, string what)
        {
            (_array, _start, _length, _what) = (array, start, length, what);
            Fill(array, 0, start);
            Fill(array, start + length, array.Length);
        }

        ~Sentinel() => Retire(_array, _start, _length, _what, _allocated);
    }
}
