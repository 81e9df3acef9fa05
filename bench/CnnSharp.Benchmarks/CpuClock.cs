using System.Diagnostics;
using System.Runtime.InteropServices;

namespace CnnSharp.Benchmarks;

/// <summary>
/// The calling thread's CPU time (Linux <c>CLOCK_THREAD_CPUTIME_ID</c>), which does not advance while the thread is
/// descheduled: on a shared, oversubscribed machine it measures single-thread kernel speed far more stably than wall time.
/// Falls back to wall time elsewhere.
/// </summary>
public static unsafe partial class CpuClock
{
    private const int ThreadCpuTimeId = 3;

    /// <summary>Whether thread CPU time is available (otherwise <see cref="Seconds"/> is wall time).</summary>
    public static bool IsThreadTime { get; } = OperatingSystem.IsLinux() && Probe();

    /// <summary>Seconds of CPU time used by the calling thread (or wall seconds, see <see cref="IsThreadTime"/>).</summary>
    public static double Seconds()
    {
        if (!IsThreadTime) return Stopwatch.GetTimestamp() / (double)Stopwatch.Frequency;
        long* ts = stackalloc long[2];
        _ = ClockGetTime(ThreadCpuTimeId, ts);
        return ts[0] + ts[1] * 1e-9;
    }

    private static bool Probe()
    {
        try
        {
            long* ts = stackalloc long[2];
            return ClockGetTime(ThreadCpuTimeId, ts) == 0;
        }
        catch (DllNotFoundException)
        {
            return false;
        }
        catch (EntryPointNotFoundException)
        {
            return false;
        }
    }

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clockId, long* timespec);
}
