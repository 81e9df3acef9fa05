using System.Diagnostics;

namespace CnnSharp.Compile.Ops;

/// <summary>Optional per-pass timing of <see cref="ConvChainOp"/>'s backward (benchmarks only; off unless <see cref="PassTicks"/> is set).</summary>
internal sealed partial class ConvChainOp
{
    /// <summary>Backward passes timed per image (pass B: the epilogue's input gradient; pass A: the previous stage's batch-norm
    /// sums), the serial reductions after the stage's phase, and the whole phase as the calling thread sees it.</summary>
    internal static readonly string[] PassNames = ["pass B", "weight grad", "input grad", "pass A", "serial reduce", "phase"];

    /// <summary>
    /// When not null, every chain's backward adds the Stopwatch ticks its threads spend in each pass into
    /// [stage * <see cref="PassNames"/>.Length + pass] (stage counted in the chain, all chains together; at most 8 stages).
    /// </summary>
    internal static long[]? PassTicks { get; set; }

    /// <summary>The clock the timing reads (default <see cref="Stopwatch.GetTimestamp"/>; benchmarks on a loaded machine pass the
    /// calling thread's CPU time, so descheduled time does not count).</summary>
    internal static Func<long> PassClock { get; set; } = Stopwatch.GetTimestamp;

    // Adds the ticks since `since` to the stage's pass and returns the current timestamp (0 when timing is off).
    private static long Mark(long since, int stage, int pass) => MarkInto(PassTicks, PassNames.Length, since, stage, pass);

    private static long MarkInto(long[]? ticks, int passes, long since, int stage, int pass)
    {
        if (ticks is null) return 0;
        long now = PassClock();
        // Chains of more stages than the arrays hold (merged ResNets) count their later stages under the last slot.
        stage = Math.Min(stage, ticks.Length / passes - 1);
        Interlocked.Add(ref ticks[stage * passes + pass], now - since);
        return now;
    }

    private static long Now() => PassTicks is null ? 0 : PassClock();

    /// <summary>Forward passes timed per image (the previous stage's epilogue into the conv input, or the chain input's
    /// layout conversion; the conv with its statistics; the last epilogue to the NCHW output with the residual add), the
    /// serial batch-statistics finish, the whole phase as the calling thread sees it, and the weight packing of forward and
    /// backward (the calling thread's share, counted under stage 0).</summary>
    internal static readonly string[] ForwardPassNames = ["input", "conv", "output", "serial stats", "phase", "packing (fwd + bwd)"];

    /// <summary>When not null, every chain's forward adds its threads' ticks (<see cref="PassClock"/>) per pass into
    /// [stage * <see cref="ForwardPassNames"/>.Length + pass] (at most 8 stages; the output pass counts under the last stage).</summary>
    internal static long[]? ForwardPassTicks { get; set; }

    private static long ForwardMark(long since, int stage, int pass) =>
        MarkInto(ForwardPassTicks, ForwardPassNames.Length, since, stage, pass);

    private static long ForwardNow() => ForwardPassTicks is null ? 0 : PassClock();
}
