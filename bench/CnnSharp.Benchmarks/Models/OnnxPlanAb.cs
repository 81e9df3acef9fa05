using System.Globalization;
using CnnSharp.Kernels;
using CnnSharp.Onnx;

namespace CnnSharp.Benchmarks.Models;

/// <summary>
    /// <c>onnx-plan-ab model.onnx [batch] [rounds]</c>: one ONNX model on the compiled plan (A, the session default) and on the
/// ONNX runtime (B, <c>CompilePlan = false</c>), one thread, alternating runs in one process, thread CPU per run (best
/// and median of the rounds); then the compiled plan's per-op thread CPU (<see cref="Compile.ExecutionPlan.Timings"/>,
/// wall-clock per op on one thread, summed by op name). <c>onnx-plan-ab model.onnx batch rounds --switch split [--threads T]</c>
/// instead A/Bs the plan with <see cref="Compile.Ops.IntraImageSplit"/> off and on, and other switches likewise (see
    /// <c>RunSwitch</c>).
/// </summary>
internal static class OnnxPlanAb
{
    public static int Run(string[] args)
    {
        string path = args[1];
        int batch = args.Length > 2 && !args[2].StartsWith("--", StringComparison.Ordinal) ? int.Parse(args[2], CultureInfo.InvariantCulture) : 1;
        int rounds = args.Length > 3 && !args[3].StartsWith("--", StringComparison.Ordinal) ? int.Parse(args[3], CultureInfo.InvariantCulture) : 9;
        var plan = OnnxSession.Load(path);
        int option = Array.IndexOf(args, "--switch");
        if (option >= 0)
        {
            int at = Array.IndexOf(args, "--threads");
            int threads = at >= 0 ? int.Parse(args[at + 1], CultureInfo.InvariantCulture) : 2;
            return RunSwitch(plan, path, batch, Math.Max(rounds, 1), threads, args[option + 1]);
        }
        var runtime = OnnxSession.Load(path, new OnnxSessionOptions { CompilePlan = false });
        int[] dims = [batch, .. plan.Model.Graph.RuntimeInputs[0].FixedShape()?[1..] ?? [3, 224, 224]];
        var input = Tensor.FromArray([.. Enumerable.Range(0, dims.Aggregate(1, (a, b) => a * b)).Select(i => (float)Math.Sin(i))], dims);
        Parallelism.MaxThreads = 1;
        var y = plan.Run(input).ToArray();
        Console.WriteLine($"{Path.GetFileName(Path.GetDirectoryName(Path.GetFullPath(path)))} b{batch}, ISA {Isa.Level}, 1 thread, A {plan.LastExecutionPath} ({plan.FallbackReason ?? "no fallback"}), B runtime");
        double diff = y.Zip(runtime.Run(input).ToArray(), (a, b) => Math.Abs(a - b)).Max();
        int reps = batch >= 8 ? 1 : 5;
        for (int w = 0; w < 10; w++) { plan.Run(input); runtime.Run(input); }
        var times = new[] { new List<double>(), new List<double>() };
        for (int r = 0; r < rounds; r++)
            for (int v = 0; v < 2; v++)
            {
                var s = v == 0 ? plan : runtime;
                double t0 = CpuClock.Seconds();
                for (int k = 0; k < reps; k++) s.Run(input);
                times[v].Add((CpuClock.Seconds() - t0) / reps * 1e3);
            }
        foreach (var t in times) t.Sort();
        Console.WriteLine(FormattableString.Invariant(
            $"thread CPU ms per run: plan best {times[0][0]:F2} median {times[0][rounds / 2]:F2}; runtime best {times[1][0]:F2} median {times[1][rounds / 2]:F2}; plan/runtime median {times[0][rounds / 2] / times[1][rounds / 2]:F3}; max |diff| {diff:E1}"));

        var compiled = plan.PlanFor(new Shape(dims));
        if (compiled is null) return 0;
        compiled.Timings = new double[compiled.Ops.Length, 2];
        for (int k = 0; k < rounds; k++) plan.Run(input);
        var byName = new Dictionary<string, (double Ms, int Count)>();
        for (int i = 0; i < compiled.Ops.Length; i++)
        {
            string name = compiled.Ops[i].Name;
            int space = name.IndexOf(' ', StringComparison.Ordinal);
            string kind = space > 0 && name.StartsWith("Conv2d", StringComparison.Ordinal) ? name[..space] : name.Split('[')[0];
            var e = byName.GetValueOrDefault(kind);
            byName[kind] = (e.Ms + compiled.Timings[i, 0] * 1e3 / rounds, e.Count + 1);
        }
        var slowest = Enumerable.Range(0, compiled.Ops.Length).OrderByDescending(i => compiled.Timings[i, 0]).Take(12)
            .Select(i => FormattableString.Invariant($"  {compiled.Timings[i, 0] * 1e3 / rounds,8:F3} ms  {compiled.Ops[i].Name} {compiled.Shapes[compiled.Ops[i].Inputs[0]]} -> {compiled.Shapes[compiled.Ops[i].Output]}")).ToList();
        compiled.Timings = null;
        double total = byName.Values.Sum(v => v.Ms);
        Console.WriteLine(FormattableString.Invariant($"plan profile (wall per op, 1 thread, mean of {rounds} runs): {total:F2} ms"));
        foreach (var (kind, v) in byName.OrderByDescending(p => p.Value.Ms))
            Console.WriteLine(FormattableString.Invariant($"  {kind,-40} {v.Ms,8:F3} ms {100 * v.Ms / total,5:F1}%  ({v.Count} ops)"));
        Console.WriteLine("slowest ops:");
        foreach (string line in slowest) Console.WriteLine(line);
        return 0;
    }

    /// <summary>
    /// <c>--switch S</c>: the compiled plan with one process-wide switch off (A) and on (B), on
    /// <paramref name="threads"/> threads, alternating in one process: wall and process CPU time per run (medians of the
    /// rounds, B/A), and whether both variants give the same bits. S: <c>split</c> (IntraImageSplit, at run time);
    /// plan-time switches, each variant with its own session: <c>stem-eval</c> (PlanBuilder.StridedStemChains),
    /// <c>strided-eval</c> (PlanBuilder.StridedInferenceChains), <c>small-strided</c> (PlanBuilder.MaxStridedGemmPixels
    /// 0 / 49), <c>expand-dw</c> (ExpandDepthwiseOp.Enabled: the 1x1 expansion and the depthwise conv in one banded op),
    /// <c>expand-dw-proj</c> (ExpandDepthwiseOp.FuseProjection: the projection 1x1 conv in those bands too),
    /// <c>expand-dw-small</c> (ExpandDepthwiseOp.SmallExpansions: blocks below its MinExpansionFloats banded at batches of
    /// at least two images per thread), <c>expand-dw-few</c> (at run time: ExpandDepthwiseOp.SmallFewImages, those blocks banded in
    /// equal parts of >= 7 rows below 2 images per thread), <c>stop17</c> (the next three together), <c>fused-epilogue</c> (at run time: Gemm.FusedEpilogue, one-slice 1x1 tiles' epilogue in registers), <c>minmax-clamp</c> (at run time: Gemm.MinMaxClamp, that epilogue's clamps as vmaxps / vminps), <c>dw-in-place</c> (at run time: ExpandDepthwise.InPlaceRows, banded expansions written in the depthwise taps' layout), <c>dw-row-taps</c> (at run time: DepthwiseConv3x3.RowTaps, those taps from per-row pointers with min/max clamps), <c>stop19-early</c> (those three), <c>edges-split</c> (both of the next two), <c>vector-edges</c> (at run time: EdgeStore.Vectorized, GEMM edge tiles stored on vectors), <c>masked-split</c> (at run time: GroupedConv2d.MaskedDeinterleave, stride-2 row splits' tails in masked AVX-512 steps), <c>expand-dw-channels</c> (at run time:
    /// ExpandDepthwiseOp.SmallByChannels, the unbanded ones split over channels), <c>few-rows:N</c> (at run time: ExpandDepthwiseOp.SmallMinBandRows 7 / N),
    /// <c>small-batch:N</c> (at run time: ExpandDepthwiseOp.MinBatchedExpansionFloats
    /// 0 / N), <c>small-images:N</c> (at run time: ExpandDepthwiseOp.SmallMinImagesPerThread 2 / N),
    /// <c>plan-spin</c>
    /// (at run time: WorkerPool.PlanScopedSpinning), <c>stem-direct</c> (StemConv3x3S2.Enabled), <c>band:N</c> (at run time:
    /// ExpandDepthwise.BufferFloats 2^17 / N), <c>wino:N</c> (ConvChainLayer.MinInferenceWinogradTiles 16 / N),
    /// <c>batch-wino</c> (PlanBuilder.BatchWinograd), <c>batch-wino:N</c> (PlanBuilder.BatchWinogradMinTiles 32 / N),
    /// <c>wide512</c> (WinogradConv2d.Wide512: per-image and batch-folded Winograd plans on 16 lanes; the same bits),
    /// <c>projection</c> (PlanBuilder.InferenceProjections: downsampling blocks' projection shortcuts inside their chains),
    /// <c>conv-pool</c> (PointwisePoolOp.Enabled: a 1x1 conv and the global average pool after it in one op),
    /// <c>stem-band</c> (ExpandDepthwiseOp.StemInBand: the direct stem inside the first block's bands),
    /// <c>stem-parts</c> (ExpandDepthwiseOp.StemEqualParts: that block in equal parts per image at few images),
    /// <c>stem-unroll</c> (StemConv3x3S2.UnrolledTaps: the stem tile's kx taps written out; the same bits),
    /// <c>stop18</c> (those three together), <c>strided-edge</c> (at run time: Gemm.StridedEdges, 1x1 convs' 17-column
    /// edge read in place; the same bits), <c>odd-pitch</c> (at run time: PointwiseConv.OddLinePitch, B planes at an odd
    /// number of cache lines), <c>padded-dw</c> (at run time: ExpandDepthwise.PaddedExpansion, the channel split's expansion
    /// written in the depthwise conv's padded layout), <c>stop19-tail</c> (those three), <c>thin-edge</c> (at run time: Gemm.ThinEdges,
    /// 1-4 column last panels on ymm columns), <c>stop19</c> (all of stop 19: stop19-early, stop19-tail, thin-edge).
    /// </summary>
    private static int RunSwitch(OnnxSession session, string path, int batch, int rounds, int threads, string toggle)
    {
        Action<bool> set = toggle switch
        {
            "split" => on => Compile.Ops.IntraImageSplit.Enabled = on,
            "stem-eval" => on => Compile.PlanBuilder.StridedStemChains = on,
            "strided-eval" => on => Compile.PlanBuilder.StridedInferenceChains = on,
            "small-strided" => on => Compile.PlanBuilder.MaxStridedGemmPixels = on ? 49 : 0,
            "expand-dw" => on => Compile.Ops.ExpandDepthwiseOp.Enabled = on,
            "expand-dw-proj" => on => Compile.Ops.ExpandDepthwiseOp.FuseProjection = on,
            "expand-dw-small" => on => Compile.Ops.ExpandDepthwiseOp.SmallExpansions = on,
            "expand-dw-few" => on => Compile.Ops.ExpandDepthwiseOp.SmallFewImages = on,
            "expand-dw-channels" => on => Compile.Ops.ExpandDepthwiseOp.SmallByChannels = on,
            "narrow-edge" => on => Gemm.NarrowEdges = on,
            "strided-edge" => on => Gemm.StridedEdges = on,
            "odd-pitch" => on => PointwiseConv.OddLinePitch = on,
            "padded-dw" => on => ExpandDepthwise.PaddedExpansion = on,
            "stop19-tail" => on => PointwiseConv.OddLinePitch = Gemm.StridedEdges = ExpandDepthwise.PaddedExpansion = on,
            "thin-edge" => on => Gemm.ThinEdges = on,
            "stop19" => on => PointwiseConv.OddLinePitch = Gemm.StridedEdges = ExpandDepthwise.PaddedExpansion = Gemm.ThinEdges = ExpandDepthwise.InPlaceRows = DepthwiseConv3x3.RowTaps = Gemm.MinMaxClamp = on,
            "stop17" => on => EdgeStore.Vectorized = GroupedConv2d.MaskedDeinterleave = Gemm.FusedEpilogue = on,
            "edges-split" => on => EdgeStore.Vectorized = GroupedConv2d.MaskedDeinterleave = on,
            "fused-epilogue" => on => Gemm.FusedEpilogue = on,
            "minmax-clamp" => on => Gemm.MinMaxClamp = on,
            "dw-in-place" => on => ExpandDepthwise.InPlaceRows = on,
            "dw-row-taps" => on => DepthwiseConv3x3.RowTaps = on,
            "stop19-early" => on => ExpandDepthwise.InPlaceRows = DepthwiseConv3x3.RowTaps = Gemm.MinMaxClamp = on,
            "vector-edges" => on => EdgeStore.Vectorized = on,
            "masked-split" => on => GroupedConv2d.MaskedDeinterleave = on,
            "plan-spin" => on => WorkerPool.PlanScopedSpinning = on,
            "stem-direct" => on => StemConv3x3S2.Enabled = on,
            "batch-wino" => on => Compile.PlanBuilder.BatchWinograd = on,
            "wide512" => on => CnnSharp.Kernels.Direct.WinogradConv2d.Wide512 = on,
            "projection" => on => Compile.PlanBuilder.InferenceProjections = on,
            "conv-pool" => on => Compile.Ops.PointwisePoolOp.Enabled = on,
            "stem-band" => on => Compile.Ops.ExpandDepthwiseOp.StemInBand = on,
            "stem-parts" => on => Compile.Ops.ExpandDepthwiseOp.StemEqualParts = on,
            "stem-unroll" => on => StemConv3x3S2.UnrolledTaps = on,
            "stop18" => on => Compile.Ops.ExpandDepthwiseOp.StemInBand = Compile.Ops.ExpandDepthwiseOp.StemEqualParts = StemConv3x3S2.UnrolledTaps = on,
            _ when toggle.StartsWith("wino:", StringComparison.Ordinal) =>
                on => Compile.Ops.ConvChainLayer.MinInferenceWinogradTiles = on ? int.Parse(toggle[5..], CultureInfo.InvariantCulture) : 16,
            _ when toggle.StartsWith("batch-wino:", StringComparison.Ordinal) =>
                on => Compile.PlanBuilder.BatchWinogradMinTiles = on ? int.Parse(toggle[11..], CultureInfo.InvariantCulture) : 32,
            _ when toggle.StartsWith("few-rows:", StringComparison.Ordinal) =>
                on => Compile.Ops.ExpandDepthwiseOp.SmallMinBandRows = on ? int.Parse(toggle[9..], CultureInfo.InvariantCulture) : 7,
            _ when toggle.StartsWith("small-batch:", StringComparison.Ordinal) =>
                on => Compile.Ops.ExpandDepthwiseOp.MinBatchedExpansionFloats = on ? int.Parse(toggle[12..], CultureInfo.InvariantCulture) : 0,
            _ when toggle.StartsWith("small-images:", StringComparison.Ordinal) =>
                on => Compile.Ops.ExpandDepthwiseOp.SmallMinImagesPerThread = on ? int.Parse(toggle[13..], CultureInfo.InvariantCulture) : 2,
            _ when toggle.StartsWith("band:", StringComparison.Ordinal) =>
                on => ExpandDepthwise.BufferFloats = on ? int.Parse(toggle[5..], CultureInfo.InvariantCulture) : 1 << 17,
            _ => throw new ArgumentException($"onnx-plan-ab: unknown switch {toggle} (known: split, stem-eval, strided-eval, small-strided, expand-dw, expand-dw-proj, expand-dw-small, expand-dw-few, expand-dw-channels, stop17, edges-split, fused-epilogue, minmax-clamp, dw-in-place, dw-row-taps, stop19-early, vector-edges, masked-split, few-rows:N, small-batch:N, small-images:N, narrow-edge, strided-edge, odd-pitch, padded-dw, stop19-tail, thin-edge, stop19, plan-spin, stem-direct, batch-wino, batch-wino:N, band:N, wino:N, wide512, projection, conv-pool, stem-band, stem-parts, stem-unroll, stop18)"),
        };
        string[] names = toggle switch
        {
            "stem-eval" => ["A strided stem on Conv2dOp (GEMM)", "B strided stem as a chain stage"],
            "strided-eval" => ["A stride-2 convs on Conv2dOp (GEMM)", "B stride-2 convs as chain stages"],
            "small-strided" => ["A every 3x3/2 conv in a chain", "B 3x3/2 convs to <= 7x7 on GEMM"],
            "expand-dw" => ["A 1x1 expansion, then depthwise conv", "B expansion + depthwise in row bands"],
            "expand-dw-proj" => ["A banded expansion + depthwise, projection", "B projection in the bands too"],
            "expand-dw-small" => ["A small-expansion blocks as separate convs", "B banded at >= 2 images per thread"],
            "expand-dw-few" => ["A small blocks unfused below 2 images/thread", "B banded in equal parts from 7 rows"],
            "expand-dw-channels" => ["A unbanded few-image blocks as 3 convs", "B split over channels (2 fork-joins)"],
            "narrow-edge" => ["A last pixel panel on the full 8x32 tile", "B last panel on 8x16 / 8x17 tiles"],
            "strided-edge" => ["A 1x1 convs' 17-column edge packed first", "B read in place (no edge packing)"],
            "odd-pitch" => ["A 1x1 B planes at 16-float pitch", "B at an odd number of 64-byte lines"],
            "padded-dw" => ["A 7x7 depthwise copies each plane", "B expansion written in its padded layout"],
            "stop19-tail" => ["A before stop 19 (7x7 tail)", "B odd-line pitch, in-place edges, padded dw"],
            "thin-edge" => ["A 1-4 column last panel on the 8x16 tile", "B on ymm columns, 4 A panels, B in place"],
            "stop19" => ["A before stop 19", "B all of stop 19"],
            "stop17" => ["A before stop 17 (scalar edges, plain splits)", "B masked edges/splits, fused epilogue"],
            "edges-split" => ["A scalar edge stores, plain row splits", "B masked edge stores and row splits"],
            "fused-epilogue" => ["A 1x1 tiles stored, then the epilogue", "B one-slice tiles' epilogue in registers"],
            "minmax-clamp" => ["A 1x1 tile clamps as compare + blend", "B as vmaxps / vminps"],
            "dw-in-place" => ["A banded dw copies/splits each channel's rows", "B expansion written in the taps' layout"],
            "dw-row-taps" => ["A in-place dw taps from nine pointers", "B from one/two per row, min/max clamps"],
            "stop19-early" => ["A before stop 19 (early blocks)", "B in-place dw bands, min/max clamps"],
            "vector-edges" => ["A GEMM edge tiles stored by scalar code", "B on vectors (masked AVX-512 steps, or 8 lanes with an AVX-masked tail)"],
            "masked-split" => ["A row split's last < 32 floats 8-wide/scalar", "B on vectors (masked AVX-512 steps, or 8 lanes with an AVX-masked tail)"],
            "plan-spin" => ["A workers block after 50 us of spinning", "B workers spin while a plan runs"],
            "stem-direct" => ["A RGB 3x3/2 stem on the GEMM", "B stem on StemConv3x3S2"],
            "batch-wino" => ["A wide small-map 3x3 convs per image in chains", "B on batch-folded Winograd"],
            "wide512" => ["A Winograd transforms on 8 lanes", "B on 16 lanes (V512 path, 512-bit hardware)"],
            "projection" => ["A projection shortcuts as own chains", "B projections in the block's chain"],
            "conv-pool" => ["A 1x1 conv, then global average pool", "B 1x1 conv + pool in one op"],
            "stem-band" => ["A stem, then features.1 in bands", "B stem rows made in features.1's bands"],
            "stem-parts" => ["A stem block in the default units", "B in equal parts per image"],
            "stem-unroll" => ["A stem tile's kx taps in a loop", "B written out"],
            "stop18" => ["A before stop 18 (stem op, looped taps)", "B stem in bands, equal parts, taps out"],
            _ when toggle.StartsWith("wino:", StringComparison.Ordinal) => ["A Winograd from 16 tiles", $"B Winograd from {toggle[5..]} tiles"],
            _ when toggle.StartsWith("batch-wino:", StringComparison.Ordinal) => ["A batch Winograd from 32 tiles", $"B batch Winograd from {toggle[11..]} tiles"],
            _ when toggle.StartsWith("few-rows:", StringComparison.Ordinal) => ["A few-image parts of >= 7 rows", $"B of >= {toggle[9..]} rows"],
            _ when toggle.StartsWith("small-batch:", StringComparison.Ordinal) => ["A small blocks batched at any size", $"B from {toggle[12..]} floats"],
            _ when toggle.StartsWith("small-images:", StringComparison.Ordinal) => ["A small blocks banded from 2 images/thread", $"B from {toggle[13..]} images/thread"],
            _ when toggle.StartsWith("band:", StringComparison.Ordinal) => ["A band buffers of 2^17 floats", $"B band buffers of {toggle[5..]} floats"],
            _ => ["A one image on one thread (small convs)", "B one image split over the threads"],
        };
        int[] dims = [batch, .. session.Model.Graph.RuntimeInputs[0].FixedShape()?[1..] ?? [3, 224, 224]];
        var input = Tensor.FromArray([.. Enumerable.Range(0, dims.Aggregate(1, (a, b) => a * b)).Select(i => (float)Math.Sin(i))], dims);
        Parallelism.MaxThreads = threads;
        var outputs = new float[2][];
        // Each variant has its own session, whose plan is built (first run) with the switch in that variant's position:
        // plan-time switches (wino:N) then differ between the two plans, run-time ones (split) are set before every run.
        var sessions = new[] { session, OnnxSession.Load(path) };
        for (int v = 0; v < 2; v++)
        {
            set(v == 1);
            outputs[v] = sessions[v].Run(input).ToArray();
        }
        bool same = outputs[0].AsSpan().SequenceEqual(outputs[1]);
        int reps = batch >= 8 ? 1 : 10;
        for (int w = 0; w < 10; w++)
            for (int v = 0; v < 2; v++) { set(v == 1); sessions[v].Run(input); }
        var wall = new[] { new double[rounds], new double[rounds] };
        var cpu = new[] { new double[rounds], new double[rounds] };
        var blocks = new long[2];
        var process = System.Diagnostics.Process.GetCurrentProcess();
        for (int r = 0; r < rounds; r++)
            for (int k = 0; k < 2; k++)
            {
                int v = (r + k) % 2; // who goes first alternates
                set(v == 1);
                process.Refresh();
                var cpu0 = process.TotalProcessorTime;
                long blocks0 = WorkerPool.Shared.Blocks;
                long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
                for (int i = 0; i < reps; i++) sessions[v].Run(input);
                wall[v][r] = System.Diagnostics.Stopwatch.GetElapsedTime(t0).TotalMilliseconds / reps;
                process.Refresh();
                cpu[v][r] = (process.TotalProcessorTime - cpu0).TotalMilliseconds / reps;
                blocks[v] += WorkerPool.Shared.Blocks - blocks0;
            }
        // Per op, the minimum over the rounds of its wall time (the least disturbed by other load), A and B alternating.
        var plans = sessions.Select(s => s.PlanFor(new Shape(dims))).ToArray();
        var compiled = plans[1];
        var best = new double[2][];
        if (plans[0] is not null && compiled is not null)
        {
            for (int r = 0; r < rounds; r++)
                for (int v = 0; v < 2; v++)
                {
                    set(v == 1);
                    var plan = plans[v]!;
                    plan.Timings = new double[plan.Ops.Length, 2];
                    sessions[v].Run(input);
                    var ms = Enumerable.Range(0, plan.Ops.Length).Select(i => plan.Timings[i, 0] * 1e3).ToArray();
                    plan.Timings = null;
                    best[v] = best[v] is null ? ms : [.. best[v].Zip(ms, Math.Min)];
                }
        }
        set(true);
        string load = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "?";
        Console.WriteLine($"{Path.GetFileName(Path.GetDirectoryName(Path.GetFullPath(path)))} b{batch}, ISA {Isa.Level}, {threads} threads, {rounds} alternating rounds of {reps} runs, load {load}, {session.LastExecutionPath}; A and B outputs {(same ? "bit-identical" : FormattableString.Invariant($"differ, max |diff| {outputs[0].Zip(outputs[1], (a, b) => Math.Abs(a - b)).Max():E1}"))}");
        for (int v = 0; v < 2; v++)
            Console.WriteLine(FormattableString.Invariant($"  {names[v],-42} wall ms {string.Join(' ', wall[v].Select(t => t.ToString("F2", CultureInfo.InvariantCulture)))}"));
        double wa = ProcessStats.Median(wall[0]), wb = ProcessStats.Median(wall[1]), ca = ProcessStats.Median(cpu[0]), cb = ProcessStats.Median(cpu[1]);
        Console.WriteLine(FormattableString.Invariant($"median wall per run A {wa:F2} ms, B {wb:F2} ms, B/A {wb / wa:F3}; best A {wall[0].Min():F2}, B {wall[1].Min():F2}"));
        Console.WriteLine(FormattableString.Invariant($"median process CPU per run A {ca:F2} ms, B {cb:F2} ms, B/A {cb / ca:F3}"));
        Console.WriteLine(FormattableString.Invariant($"worker-pool blocks (a worker or the caller going to sleep) per run: A {(double)blocks[0] / (rounds * reps):F1}, B {(double)blocks[1] / (rounds * reps):F1}"));
        if (best[0] is not null && plans[0]!.Ops.Length != compiled!.Ops.Length)
        {
            // Different op lists (a plan-time switch that moves ops out of chains): each plan's ops, minimum wall.
            for (int v = 0; v < 2; v++)
            {
                Console.WriteLine(FormattableString.Invariant($"plan {(v == 0 ? 'A' : 'B')} per-op wall, minimum over the rounds: {best[v].Sum():F2} ms"));
                var p = plans[v]!;
                for (int i = 0; i < p.Ops.Length; i++)
                    Console.WriteLine(FormattableString.Invariant($"  {best[v][i],8:F3}  {p.Ops[i].Name} {p.Shapes[p.Ops[i].Inputs[0]]} -> {p.Shapes[p.Ops[i].Output]}"));
            }
        }
        else if (best[0] is not null && compiled is not null)
        {
            Console.WriteLine(FormattableString.Invariant($"per-op wall, minimum over the rounds: A {best[0].Sum():F2} ms, B {best[1].Sum():F2} ms; largest gains, then largest losses of B (A ms, B ms, op; every op up to 30):"));
            var order = Enumerable.Range(0, compiled.Ops.Length).OrderBy(i => best[1][i] - best[0][i]).ToList();
            // Up to 30 ops (ResNet-18: 21), every op, so a stage's ops can be summed; else the 10 gains and 5 losses.
            foreach (int i in order.Count <= 30 ? order : order.Take(10).Concat(order.TakeLast(5).Reverse()))
                Console.WriteLine(FormattableString.Invariant($"  {best[0][i],7:F3} {best[1][i],7:F3}  {(plans[0]!.Ops[i].Name == compiled.Ops[i].Name ? "" : plans[0]!.Ops[i].Name + " => ")}{compiled.Ops[i].Name} {compiled.Shapes[compiled.Ops[i].Inputs[0]]} -> {compiled.Shapes[compiled.Ops[i].Output]}"));
        }
        return same || toggle.StartsWith("wino:", StringComparison.Ordinal) || toggle.StartsWith("batch-wino", StringComparison.Ordinal) ? 0 : 1;
    }
}
