using System.Diagnostics;
using System.Runtime;

namespace CnnSharp.Benchmarks.Models;

/// <summary>
/// Warm-up that lasts until the JIT has settled, so the timed steps run tier-1 code. A fixed few steps is not enough for
/// a small model: with tiered compilation a method is promoted only after 30 calls and a 100 ms quiet period, so a
/// kernel called once per step is still tier-0 (or OSR) code for the first 30-odd steps, and the background tier-1
/// compiles compete with the worker threads for the cores. LeNet-5 measured 30 ms per step that way against 13 ms settled
/// (2 threads, AVX-512; see docs/performance.md).
/// </summary>
internal static class JitWarmup
{
    /// <summary>Steps with no newly compiled method before the JIT counts as settled (above the 30-call promotion threshold).</summary>
    private const int QuietSteps = 40;

    /// <summary>Upper bound on the warm-up's wall time, so a slow model (seconds per step) does not warm for minutes.</summary>
    private static readonly TimeSpan s_limit = TimeSpan.FromSeconds(20);

    /// <summary>
    /// Runs <paramref name="step"/> at least <paramref name="minSteps"/> times, then until <see cref="QuietSteps"/>
    /// consecutive steps compiled no new method (<see cref="JitInfo.GetCompiledMethodCount"/>), or 20 s have passed.
    /// </summary>
    /// <returns>The number of steps run.</returns>
    public static int Run(Action step, int minSteps)
    {
        var clock = Stopwatch.StartNew();
        long compiled = JitInfo.GetCompiledMethodCount();
        int steps = 0, quiet = 0;
        while (steps < minSteps || (quiet < QuietSteps && clock.Elapsed < s_limit))
        {
            step();
            steps++;
            long now = JitInfo.GetCompiledMethodCount();
            quiet = now == compiled ? quiet + 1 : 0;
            compiled = now;
        }
        return steps;
    }
}
