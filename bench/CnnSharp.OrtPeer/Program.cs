using System.Diagnostics;
using System.Globalization;
using System.Text;
using CnnSharp.Benchmarks.Models;
using CnnSharp.Kernels;
using CnnSharp.Onnx;
using CnnSharp.Onnx.Protos;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;

namespace CnnSharp.OrtPeer;

/// <summary>
/// CnnSharp's <see cref="OnnxSession"/> against ONNX Runtime's <see cref="InferenceSession"/> on the same ONNX files, in
/// one process: same input, same thread count, runs alternating round by round, medians and the CnnSharp/ORT ratio in
/// a table, and a check that both produce the same outputs.
/// </summary>
internal static class Program
{
    private static int Main(string[] args)
    {
        Options o;
        try
        {
            o = Options.Parse(args);
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine(e.Message);
            Console.Error.WriteLine(Options.Usage);
            return 2;
        }
        if (o.Help)
        {
            Console.WriteLine(Options.Usage);
            return 0;
        }
        if (o.Head)
        {
            KernelBench.Head(o.Rounds);
            return 0;
        }
        if (o.Tail)
        {
            KernelBench.Tail(o.Rounds);
            return 0;
        }
        if (o.Band)
        {
            KernelBench.Band(o.Rounds);
            return 0;
        }
        if (o.Kernels)
        {
            KernelBench.Run(o.Rounds);
            return 0;
        }
        if (o.ChainModel is not null)
        {
            KernelBench.ChainAB(o.ChainModel, o.Rounds, o.Threads);
            return 0;
        }
        if (o.Pointwise)
        {
            KernelBench.Pointwise(o.Rounds, o.Threads, o.Batches[0]);
            if (o.Fixtures is not null) KernelBench.PointwiseModels(o.Fixtures, o.Batches, o.Rounds);
            return 0;
        }
        if (o.ExpandDw)
        {
            KernelBench.ExpandDw(o.Rounds);
            return 0;
        }
        if (o.Depthwise)
        {
            KernelBench.Depthwise(o.Rounds, o.Threads);
            return 0;
        }
        if (o.Scaling)
        {
            KernelBench.Scaling(o.Rounds);
            return 0;
        }
        if (o.Tune is not null)
        {
            KernelBench.Tune(o.Rounds, o.Tune.Length == 0 ? null : o.Tune, o.Cold);
            return 0;
        }
        string? root = o.Conformance ?? FindConformance();
        if (root is null)
        {
            Console.Error.WriteLine("conformance folder not found: pass --conformance DIR or set CNNSHARP_CONFORMANCE");
            return 2;
        }

        Parallelism.MaxThreads = o.Threads;
        Console.WriteLine($"CnnSharp OnnxSession vs ONNX Runtime {OrtEnv.Instance().GetVersionString()} | {o.Threads} thread(s) each | " +
            $"{o.Warmup} warm-up runs, {o.Rounds} alternating rounds (each >= {o.RoundMs} ms per side) | " +
            $"SIMD {Isa.Level} | {Environment.ProcessorCount} CPUs | load average {LoadAverage()}");
        Console.WriteLine();

        var rows = new List<Row>();
        bool allAgree = true;
        foreach (string model in o.Models)
        {
            string path = Path.Combine(root, "pytorch-models", model, "model.onnx");
            if (!File.Exists(path) && o.Fixtures is not null) path = Path.Combine(o.Fixtures, model, "model.onnx");
            if (!File.Exists(path))
            {
                Console.Error.WriteLine($"{path}: not found");
                return 2;
            }
            // The conformance files declare a fixed batch (resnet18: 1, seed_convnet: 4). Both runtimes get the same copy
            // whose declared graph input/output batch dimension is symbolic; the nodes themselves are batch-agnostic
            // (Flatten, Shape-driven Reshape), which the agreement check and the output shape check confirm.
            var notes = new List<string>();
            string free = BatchFreeCopy(path, model, notes);
            foreach (string note in notes) Console.WriteLine(note);
            foreach (int batch in o.Batches)
            {
                var row = Measure(model, free, batch, o);
                rows.Add(row);
                allAgree &= row.Agree || row.Note is not null;
                Console.WriteLine(row.Note ?? $"{model} b{batch}: CnnSharp {Ms(row.CnnMedian)} ms, ORT {Ms(row.OrtMedian)} ms, ratio {row.Ratio:F2}, max |diff| {row.MaxDiff:G3}");
            }
        }

        Console.WriteLine();
        Console.WriteLine(Table(rows, o));
        Console.WriteLine($"load average after the run: {LoadAverage()}");
        if (!allAgree)
        {
            Console.Error.WriteLine("outputs disagree (see the 'agree' column)");
            return 1;
        }
        return 0;
    }

    private sealed record Row(string Model, int Batch, double CnnMedian, double CnnMin, double OrtMedian, double OrtMin,
        double MaxDiff, bool Agree, string? Note, double CnnCpu = double.NaN, double OrtCpu = double.NaN)
    {
        public double Ratio => CnnMedian / OrtMedian;
    }

    private static Row Measure(string model, string path, int batch, Options o)
    {
        using var ortOptions = new SessionOptions
        {
            IntraOpNumThreads = o.Threads,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        // ORT's intra-op workers spin while a Run is active (its default, kept) and, by default, keep spinning after Run
        // returns: in this one process that takes a core from CnnSharp's timed runs that follow (measured: CnnSharp's
        // ResNet-18 batch 1 on 2 threads 60-64 ms next to an idle-spinning ORT vs 38 ms alone). force_spinning_stop ends the
        // spinning when Run returns, so each side is timed on a machine the other is not using.
        ortOptions.AddSessionConfigEntry("session.force_spinning_stop", "1");
        if (Environment.GetEnvironmentVariable("CNNSHARP_ORT_NO_SPIN") == "1") ortOptions.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        using var ort = new InferenceSession(path, ortOptions);
        var cnn = OnnxSession.Load(path);

        string inputName = ort.InputNames[0], outputName = ort.OutputNames[0];
        int[] dims = ort.InputMetadata[inputName].Dimensions;
        // Only possible when the batch-free copy could not free the dimension (it always can for graph inputs).
        if (dims[0] > 0 && dims[0] != batch)
            return new Row(model, batch, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, false,
                $"{model} b{batch}: skipped, the model's batch dimension is fixed at {dims[0]}");
        int[] shape = [batch, .. dims.Skip(1)];
        if (shape.Any(d => d <= 0)) throw new InvalidOperationException($"{model}: input '{inputName}' has symbolic non-batch dimensions [{string.Join(", ", dims)}]");

        var data = new float[shape.Aggregate(1, (a, b) => a * b)];
        var rng = new Random(20240611 + batch);
        for (int i = 0; i < data.Length; i++) data[i] = (float)(rng.NextDouble() * 2 - 1);
        var input = Tensor.FromArray(data, shape);

        using var ortInput = OrtValue.CreateTensorValueFromMemory(data, shape.Select(d => (long)d).ToArray());
        using var runOptions = new RunOptions();
        string[] inNames = [inputName], outNames = [outputName];
        OrtValue[] inValues = [ortInput];

        // First runs: shapes, and the agreement check.
        float[] ortOut;
        long[] outShape;
        using (var results = ort.Run(runOptions, inNames, inValues, outNames))
        {
            ortOut = results[0].GetTensorDataAsSpan<float>().ToArray();
            outShape = results[0].GetTensorTypeAndShape().Shape;
        }
        var cnnOut = cnn.Run(input);
        double maxDiff = 0;
        bool agree = cnnOut.Shape.Numel == ortOut.Length && cnnOut.Shape[0] == batch && outShape[0] == batch;
        if (agree)
        {
            var c = cnnOut.Data;
            for (int i = 0; i < ortOut.Length; i++)
            {
                double d = Math.Abs(c[i] - ortOut[i]);
                maxDiff = Math.Max(maxDiff, d);
                if (!(d <= 1e-4 + 1e-3 * Math.Abs(ortOut[i]))) agree = false;
            }
        }

        // Timed runs write into a preallocated output, so ORT's side is its kernels plus its own run overhead.
        var ortOutBuffer = new float[ortOut.Length];
        using var ortOutput = OrtValue.CreateTensorValueFromMemory(ortOutBuffer, outShape);
        OrtValue[] outValues = [ortOutput];
        void RunOrt() => ort.Run(runOptions, inNames, inValues, outNames, outValues);
        void RunCnn() => cnn.Run(input);

        for (int i = 0; i < o.Warmup; i++)
        {
            RunCnn();
            RunOrt();
        }
        // CnnSharp's kernels are tier-0 JIT code for their first ~30 calls; a few warm-up runs left them so in the timed
        // rounds (a small model's kernels run a few times per run). Warm until nothing new was compiled for 40 runs.
        JitWarmup.Run(RunCnn, 0);
        // --split-ab: a third side, CnnSharp with ConvChainOp's intra-image split off (the image-by-image path).
        void RunCnnUnsplit()
        {
            CnnSharp.Compile.Ops.ConvChainOp.SplitImages = false;
            try
            {
                cnn.Run(input);
            }
            finally
            {
                CnnSharp.Compile.Ops.ConvChainOp.SplitImages = true;
            }
        }
        if (o.SplitAB) JitWarmup.Run(RunCnnUnsplit, 0);
        // Repetitions per round: enough that a round of one side lasts at least RoundMs.
        int repsCnn = Reps(RunCnn, o.RoundMs), repsOrt = Reps(RunOrt, o.RoundMs);
        var cnnTimes = new double[o.Rounds];
        var ortTimes = new double[o.Rounds];
        var cnnCpu = new double[o.Rounds];
        var ortCpu = new double[o.Rounds];
        var unsplitTimes = new double[o.SplitAB ? o.Rounds : 0];
        var unsplitCpu = new double[unsplitTimes.Length];
        int repsUnsplit = o.SplitAB ? Reps(RunCnnUnsplit, o.RoundMs) : 0;
        // The calling thread's CPU per run (split and unsplit): its share of the work, which the machine's load does not
        // inflate; with the split the caller leaves part of each chain to the worker.
        var callerSplit = new double[unsplitTimes.Length];
        var callerUnsplit = new double[unsplitTimes.Length];
        for (int r = 0; r < o.Rounds; r++)
        {
            if (o.SplitAB)
            {
                callerSplit[r] = CallerCpu(RunCnn, repsCnn);
                callerUnsplit[r] = CallerCpu(RunCnnUnsplit, repsUnsplit);
            }
            if (o.SplitAB && r % 2 == 1) (unsplitTimes[r], unsplitCpu[r]) = TimeBoth(RunCnnUnsplit, repsUnsplit, o.Threads);
            // Alternate who goes first so neither side always runs on a cache the other just warmed or evicted.
            if (r % 2 == 0)
            {
                (cnnTimes[r], cnnCpu[r]) = TimeBoth(RunCnn, repsCnn, o.Threads);
                (ortTimes[r], ortCpu[r]) = TimeBoth(RunOrt, repsOrt, o.Threads);
            }
            else
            {
                (ortTimes[r], ortCpu[r]) = TimeBoth(RunOrt, repsOrt, o.Threads);
                (cnnTimes[r], cnnCpu[r]) = TimeBoth(RunCnn, repsCnn, o.Threads);
            }
            if (o.SplitAB && r % 2 == 0) (unsplitTimes[r], unsplitCpu[r]) = TimeBoth(RunCnnUnsplit, repsUnsplit, o.Threads);
        }
        if (o.SplitAB)
            Console.WriteLine($"{model} b{batch} split A/B: split {Ms(Median(cnnTimes))} ms ({Ms(Median(cnnCpu))} ms CPU), " +
                $"unsplit {Ms(Median(unsplitTimes))} ms ({Ms(Median(unsplitCpu))} ms CPU), split/unsplit {Median(cnnTimes) / Median(unsplitTimes):F2}, " +
                $"ORT {Ms(Median(ortTimes))} ms ({Ms(Median(ortCpu))} ms CPU); calling thread CPU per run: split {Ms(Median(callerSplit))} ms, " +
                $"unsplit {Ms(Median(callerUnsplit))} ms");

        if (o.StridedAB) StridedAb.Run(model, batch, path, cnn, input, o.Rounds, o.RoundMs, o.Threads, ortCpu: () => TimeBoth(RunOrt, repsOrt, o.Threads).Cpu);

        if (o.Profile)
        {
            Profile(model, batch, cnn, input, o);
            OrtProfile(model, batch, path, data, shape, o);
        }
        return new Row(model, batch, Median(cnnTimes), cnnTimes.Min(), Median(ortTimes), ortTimes.Min(), maxDiff, agree, null,
            Median(cnnCpu), Median(ortCpu));
    }

    /// <summary>
    /// A temporary copy of the model that accepts any batch size: the graph inputs' and outputs' first dimension becomes
    /// symbolic, intermediate value_info (shape hints pinning the old batch) is dropped, and a Reshape whose constant
    /// target starts with the old batch size gets 0 there (ONNX: copy that dimension from the input), which is what
    /// PyTorch's <c>x.reshape(x.size(0), -1)</c> means but was traced as a constant. Weights are untouched.
    /// </summary>
    private static string BatchFreeCopy(string path, string model, List<string> notes)
    {
        var proto = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
        var graph = proto.Graph;
        long oldBatch = -1;
        foreach (var v in graph.Input.Concat(graph.Output))
        {
            if (graph.Initializer.Any(t => t.Name == v.Name)) continue;
            var dims = v.Type?.TensorType?.Shape?.Dim;
            if (dims is null || dims.Count == 0) continue;
            if (dims[0].HasDimValue && oldBatch < 0) oldBatch = dims[0].DimValue;
            dims[0] = new TensorShapeProto.Types.Dimension { DimParam = "batch" };
        }
        graph.ValueInfo.Clear();
        if (oldBatch > 0)
        {
            foreach (var node in graph.Node.Where(n => n.OpType == "Reshape" && n.Input.Count > 1))
            {
                var target = graph.Initializer.FirstOrDefault(t => t.Name == node.Input[1])
                    ?? graph.Node.FirstOrDefault(n => n.OpType == "Constant" && n.Output.Contains(node.Input[1]))?.Attribute.FirstOrDefault(a => a.Name == "value")?.T;
                if (target is null || target.DataType != (int)TensorProto.Types.DataType.Int64) continue;
                if (target.Int64Data.Count > 0 && target.Int64Data[0] == oldBatch)
                {
                    target.Int64Data[0] = 0;
                }
                else if (target.RawData.Length >= 8 && BitConverter.ToInt64(target.RawData.Span) == oldBatch)
                {
                    byte[] raw = target.RawData.ToByteArray();
                    BitConverter.TryWriteBytes(raw, 0L);
                    target.RawData = ByteString.CopyFrom(raw);
                }
                else
                {
                    continue;
                }
                notes.Add($"{model}: declared batch {oldBatch} made symbolic; Reshape '{node.Name}' target [{oldBatch}, ...] -> [0, ...]");
            }
        }
        string dir = Path.Combine(Path.GetTempPath(), "cnnsharp-ortpeer");
        Directory.CreateDirectory(dir);
        string file = Path.Combine(dir, model + ".batch-free.onnx");
        File.WriteAllBytes(file, proto.ToByteArray());
        return file;
    }

    /// <summary>Seconds per run, averaged over <paramref name="reps"/> runs.</summary>
    /// <summary>
    /// Wall seconds per run and CPU seconds per run: of the calling thread with one thread (both runtimes then compute on
    /// the caller, so this is their whole cost without the time a loaded machine keeps the thread waiting), of the whole
    /// process otherwise.
    /// </summary>
    internal static (double Wall, double Cpu) TimeBoth(Action run, int reps, int threads)
    {
        int settle = int.Parse(Environment.GetEnvironmentVariable("CNNSHARP_SETTLE_MS") ?? "0", CultureInfo.InvariantCulture);
        if (settle > 0) Thread.Sleep(settle);
        double cpu0 = threads == 1 ? KernelBench.ThreadCpuSeconds() : ProcessCpuSeconds();
        double wall = Time(run, reps);
        double cpu1 = threads == 1 ? KernelBench.ThreadCpuSeconds() : ProcessCpuSeconds();
        return (wall, (cpu1 - cpu0) / reps);
    }

    /// <summary>CPU seconds of the calling thread per run.</summary>
    private static double CallerCpu(Action run, int reps)
    {
        double start = KernelBench.ThreadCpuSeconds();
        for (int i = 0; i < reps; i++) run();
        return (KernelBench.ThreadCpuSeconds() - start) / reps;
    }

    private static double ProcessCpuSeconds()
    {
        using var self = Process.GetCurrentProcess();
        return self.TotalProcessorTime.TotalSeconds;
    }

    private static double Time(Action run, int reps)
    {
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < reps; i++) run();
        return Stopwatch.GetElapsedTime(start).TotalSeconds / reps;
    }

    internal static int Reps(Action run, int roundMs)
    {
        double once = Time(run, 1);
        return Math.Clamp((int)Math.Ceiling(roundMs / 1000.0 / Math.Max(once, 1e-7)), 1, 100_000);
    }

    internal static double Median(double[] values)
    {
        var sorted = values.Order().ToArray();
        int n = sorted.Length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    /// <summary>Per-operator time of CnnSharp's run: the compiled plan's per-op time (<see cref="PlanProfile"/>), or on the
    /// ONNX runtime path the wall clock per step, summed over runs.</summary>
    private static void Profile(string model, int batch, OnnxSession cnn, Tensor input, Options o)
    {
        if (PlanProfile.Print(model, batch, cnn, input, Math.Max(3, o.Rounds), o.ProfileTop, o.Threads)) return;
        var byKind = new Dictionary<string, (long Ticks, int Count)>(StringComparer.Ordinal);
        var byNode = new Dictionary<string, (string Kind, string Shapes, long Ticks)>(StringComparer.Ordinal);
        int runs = Math.Max(3, o.Rounds);
        // With one thread the time per step is the calling thread's CPU time since the previous step's observer returned
        // (the graph's own bookkeeping between steps is included, the run's input checks in the first step; the time the
        // machine's load keeps the thread waiting is not).
        bool cpuTime = o.Threads == 1;
        double lastCpu = 0, runCpu = 0;
        cnn.Graph.StepObserver = (node, op, shapes, wallTicks) =>
        {
            long ticks = wallTicks;
            if (cpuTime)
            {
                double now = KernelBench.ThreadCpuSeconds();
                ticks = (long)((now - lastCpu) * Stopwatch.Frequency);
                lastCpu = now;
            }
            string kind = op.GetType().Name.Replace("Op", "", StringComparison.Ordinal)
                + (op is Onnx.Ops.ConvOp { FusedResidual: true } ? "+Add" : "") + (op is Onnx.Ops.ConvOp { FusedRelu: true } ? "+Relu" : "");
            if (kind.StartsWith("Conv", StringComparison.Ordinal))
            {
                int[]? w = shapes.Length > 1 ? shapes[1] : null;
                if (w is { Length: 4 }) kind += $" {w[2]}x{w[3]}";
            }
            var k = byKind.GetValueOrDefault(kind);
            byKind[kind] = (k.Ticks + ticks, k.Count + 1);
            string key = node.DisplayName;
            var n = byNode.GetValueOrDefault(key);
            byNode[key] = (kind, string.Join(" ", shapes.Select(s => s is null ? "-" : "(" + string.Join(",", s) + ")")), n.Ticks + ticks);
            if (cpuTime) lastCpu = KernelBench.ThreadCpuSeconds(); // this bookkeeping is not the next step's time
        };
        try
        {
            for (int i = 0; i < runs; i++)
            {
                double start = lastCpu = KernelBench.ThreadCpuSeconds();
                cnn.Run(input);
                runCpu += KernelBench.ThreadCpuSeconds() - start;
            }
        }
        finally
        {
            cnn.Graph.StepObserver = null;
        }
        double total = byKind.Values.Sum(v => v.Ticks);
        double ToMs(long ticks) => ticks * 1000.0 / Stopwatch.Frequency / runs;
        Console.WriteLine($"  profile {model} b{batch} (CnnSharp, mean of {runs} runs, {Ms(total / Stopwatch.Frequency / runs)} ms {(cpuTime ? "thread CPU" : "wall clock")} in steps" +
            (cpuTime ? $", {Ms(runCpu / runs)} ms per run with the profiler's own bookkeeping):" : "):"));
        foreach (var (kind, v) in byKind.OrderByDescending(p => p.Value.Ticks))
            Console.WriteLine($"    {kind,-22} {ToMs(v.Ticks),9:F3} ms {100 * v.Ticks / total,5:F1}%  ({v.Count / runs} nodes)");
        Console.WriteLine("    slowest nodes:");
        foreach (var (name, v) in byNode.OrderByDescending(p => p.Value.Ticks).Take(o.ProfileTop))
            Console.WriteLine($"    {ToMs(v.Ticks),9:F3} ms  {v.Kind,-16} {name}  {v.Shapes}");
    }

    /// <summary>ONNX Runtime's own per-node profile of the same runs (its JSON trace, summed by operator and by node).</summary>
    private static void OrtProfile(string model, int batch, string path, float[] data, int[] shape, Options o)
    {
        string prefix = Path.Combine(Path.GetTempPath(), "cnnsharp-ortpeer", $"ort-{model}-b{batch}");
        using var options = new SessionOptions
        {
            IntraOpNumThreads = o.Threads,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            EnableProfiling = true,
            ProfileOutputPathPrefix = prefix,
        };
        string file;
        int runs = Math.Max(3, o.Rounds);
        using (var ort = new InferenceSession(path, options))
        {
            using var input = OrtValue.CreateTensorValueFromMemory(data, shape.Select(d => (long)d).ToArray());
            using var runOptions = new RunOptions();
            for (int i = 0; i < o.Warmup; i++) ort.Run(runOptions, [ort.InputNames[0]], [input], ort.OutputNames).Dispose();
            for (int i = 0; i < runs; i++) ort.Run(runOptions, [ort.InputNames[0]], [input], ort.OutputNames).Dispose();
            file = ort.EndProfiling();
        }
        // Trace events: {"cat":"Node","name":"<node>_kernel_time","dur":<us>,"args":{"op_name":"Conv",...}}; the warm-up runs
        // are included, so only the last `runs` occurrences of each node count.
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(file));
        var perNode = new Dictionary<string, (string Op, List<long> Durations)>(StringComparer.Ordinal);
        foreach (var e in doc.RootElement.EnumerateArray())
        {
            if (!e.TryGetProperty("cat", out var cat) || cat.GetString() != "Node") continue;
            string name = e.GetProperty("name").GetString() ?? "";
            if (!name.EndsWith("_kernel_time", StringComparison.Ordinal)) continue;
            string op = e.TryGetProperty("args", out var a) && a.TryGetProperty("op_name", out var opName) ? opName.GetString() ?? "?" : "?";
            if (!perNode.TryGetValue(name, out var entry)) perNode[name] = entry = (op, []);
            entry.Durations.Add(e.GetProperty("dur").GetInt64());
        }
        File.Delete(file);
        double NodeMs(List<long> d) => d.TakeLast(runs).Average() / 1000.0;
        double total = perNode.Values.Sum(v => NodeMs(v.Durations));
        Console.WriteLine($"  ORT profile {model} b{batch} (mean of {runs} runs, {total:F3} ms in nodes, after ORT's graph rewrites):");
        foreach (var group in perNode.Values.GroupBy(v => v.Op).OrderByDescending(g => g.Sum(v => NodeMs(v.Durations))))
            Console.WriteLine($"    {group.Key,-22} {group.Sum(v => NodeMs(v.Durations)),9:F3} ms {100 * group.Sum(v => NodeMs(v.Durations)) / total,5:F1}%  ({group.Count()} nodes)");
        // Minimum over the runs too: under load the means swing per node, the least disturbed run does not.
        double NodeMin(List<long> d) => d.TakeLast(runs).Min() / 1000.0;
        Console.WriteLine($"    slowest nodes (mean ms, min ms; sum of minima {perNode.Values.Sum(v => NodeMin(v.Durations)):F3} ms):");
        foreach (var (name, v) in perNode.OrderByDescending(p => NodeMs(p.Value.Durations)).Take(o.ProfileTop))
            Console.WriteLine($"    {NodeMs(v.Durations),9:F3} {NodeMin(v.Durations),7:F3}  {v.Op,-16} {name[..^"_kernel_time".Length]}");
    }

    private static string Table(List<Row> rows, Options o)
    {
        var sb = new StringBuilder();
        string cpu = o.Threads == 1 ? "thread CPU" : "process CPU";
        sb.AppendLine(CultureInfo.InvariantCulture, $"| model | batch | CnnSharp median (ms) | ORT median (ms) | CnnSharp/ORT | CnnSharp best (ms) | ORT best (ms) | CnnSharp {cpu} (ms) | ORT {cpu} (ms) | CPU ratio | CnnSharp img/s | ORT img/s | max abs diff | agree |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
        foreach (var r in rows)
        {
            if (r.Note is not null)
            {
                sb.AppendLine(CultureInfo.InvariantCulture, $"| {r.Model} | {r.Batch} | - | - | - | - | - | - | - | - | - | - | - | {r.Note} |");
                continue;
            }
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"| {r.Model} | {r.Batch} | {Ms(r.CnnMedian)} | {Ms(r.OrtMedian)} | **{r.Ratio:F2}x** | {Ms(r.CnnMin)} | {Ms(r.OrtMin)} | " +
                $"{Ms(r.CnnCpu)} | {Ms(r.OrtCpu)} | {r.CnnCpu / r.OrtCpu:F2}x | " +
                $"{r.Batch / r.CnnMedian:F0} | {r.Batch / r.OrtMedian:F0} | {r.MaxDiff:G2} | {(r.Agree ? "yes" : "NO")} |");
        }
        string scope = o.Threads == 1 ? "of the calling thread, on which both runtimes compute with one thread" : "of the whole process (ORT's spinning workers included)";
        sb.Append(CultureInfo.InvariantCulture, $"({o.Threads} thread(s) each, medians of {o.Rounds} alternating rounds; ratio < 1 means CnnSharp is faster; {cpu} = CPU time per run {scope}; agree: |diff| <= 1e-4 + 1e-3*|ORT| element-wise)");
        return sb.ToString();
    }

    private static string Ms(double seconds) => (seconds * 1000).ToString(seconds < 0.001 ? "F4" : seconds < 0.1 ? "F3" : "F1", CultureInfo.InvariantCulture);

    private static string LoadAverage()
    {
        try
        {
            string text = File.ReadAllText("/proc/loadavg");
            return string.Join(" ", text.Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "n/a";
        }
        catch (UnauthorizedAccessException)
        {
            return "n/a";
        }
    }

    private static string? FindConformance()
    {
        if (Environment.GetEnvironmentVariable("CNNSHARP_CONFORMANCE") is { Length: > 0 } env && Directory.Exists(env)) return env;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "shared", "conformance");
            if (Directory.Exists(candidate)) return candidate;
        }
        return null;
    }

    private sealed class Options
    {
        public const string Usage = """
            usage: CnnSharp.OrtPeer [--models resnet18,seed_convnet] [--batches 1,32] [--threads 2] [--rounds 15]
                                    [--warmup 3] [--round-ms 100] [--profile] [--profile-top 12] [--conformance DIR]
                                    [--fixtures DIR] [--split-ab] [--strided-ab]
                   CnnSharp.OrtPeer --kernels [--rounds 15]
                   CnnSharp.OrtPeer --head [--rounds 15]
                   CnnSharp.OrtPeer --tail [--rounds 15]
                   CnnSharp.OrtPeer --band [--rounds 15]
                   CnnSharp.OrtPeer --tune [MC:KC:NC,...] [--cold] [--rounds 15]
                   CnnSharp.OrtPeer --scaling [--rounds 15]
                   CnnSharp.OrtPeer --depthwise [--rounds 15] [--threads 2]
                   CnnSharp.OrtPeer --pointwise [--rounds 15] [--threads 1] [--batches 1]
                   CnnSharp.OrtPeer --chain-ab <model.onnx> [--rounds 15] [--threads 1]
                   CnnSharp.OrtPeer --expand-dw [--rounds 15]
              Models are read from DIR/pytorch-models/<name>/model.onnx (DIR: --conformance, CNNSHARP_CONFORMANCE,
              or shared/conformance in a folder above the program), else from FIXTURES/<name>/model.onnx (--fixtures:
              bench/fixtures, written by bench/peers/export_onnx_fixtures.py). --profile adds CnnSharp's time per op (the compiled plan's ops) and ORT's per node.
              --split-ab: also time CnnSharp with ConvChainOp's intra-image split off, in the same alternating rounds.
              --strided-ab: also time CnnSharp with stride-2 convs on the GEMM (PlanBuilder.StridedInferenceChains off),
              in the same alternating rounds, and print both plans' per-op time (minimum over the rounds).
              --depthwise: MobileNet-v2's depthwise layers at batch 1, direct kernel vs the per-group GEMM, interleaved.
              --chain-ab: the runtime's DirectConvChainOp vs the compiled plan's ConvChainOp on one file, thread CPU.
              --pointwise: MobileNet-v2/ShuffleNet-v2 1x1 convs at the first --batches value, in place vs packing, thread CPU.
              --expand-dw: MobileNet-v2's early banded blocks (stem+f1, f2-f4) at batch 1, one thread: the whole op and its
              pieces (halo move, expansion or stem rows, depthwise rows, projection), thread CPU, against a Vector512 FMA loop.
              --kernels: single-thread GEMM/convolution/pooling efficiency against an FMA loop, in thread CPU time.
              --band: one 7-row band of MobileNet-v2's 14x14 blocks (batch 1, 2 threads) piece by piece, one thread, thread CPU.
              --head: MobileNet-v2's 320->1280 conv + pool and classifier at batch 1, one thread, thread CPU time.
              --tail: MobileNet-v2's 7x7 blocks and head at batch 1 phase by phase (thread CPU, one thread's half) and whole (wall, 1-2 threads).
              --tune: the packed convolution's cache blocks on ResNet-18's layer shapes, candidates interleaved.
              --scaling: batch-1 packed convolutions on 1 and 2 threads (wall clock).
            """;

        public string[] Models { get; private set; } = ["resnet18", "seed_convnet"];
        public int[] Batches { get; private set; } = [1, 32];
        public int Threads { get; private set; } = 2;
        public int Rounds { get; private set; } = 15;
        public int Warmup { get; private set; } = 3;
        public int RoundMs { get; private set; } = 100;
        public bool Profile { get; private set; }
        public int ProfileTop { get; private set; } = 12;
        public string? Conformance { get; private set; }
        public string? Fixtures { get; private set; }
        public bool Depthwise { get; private set; }
        public bool Pointwise { get; private set; }
        public bool ExpandDw { get; private set; }
        public string? ChainModel { get; private set; }
        public bool Help { get; private set; }
        public bool Kernels { get; private set; }

        public bool Band { get; private set; }
        public bool Head { get; private set; }
        public bool Tail { get; private set; }
        public string? Tune { get; private set; }
        public bool Scaling { get; private set; }
        public bool Cold { get; private set; }
        public bool SplitAB { get; private set; }
        public bool StridedAB { get; private set; }

        public static Options Parse(string[] args)
        {
            var o = new Options();
            for (int i = 0; i < args.Length; i++)
            {
                string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
                int Positive() => int.TryParse(Next(), NumberStyles.None, CultureInfo.InvariantCulture, out int v) && v > 0
                    ? v : throw new ArgumentException($"{args[i - 1]} needs a positive integer");
                switch (args[i])
                {
                    case "--models": o.Models = Next().Split(',', StringSplitOptions.RemoveEmptyEntries); break;
                    case "--batches":
                        o.Batches = Next().Split(',', StringSplitOptions.RemoveEmptyEntries)
                            .Select(s => int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out int b) && b > 0 ? b : throw new ArgumentException($"--batches: '{s}' is not a positive integer"))
                            .ToArray();
                        break;
                    case "--threads": o.Threads = Positive(); break;
                    case "--rounds": o.Rounds = Positive(); break;
                    case "--warmup": o.Warmup = Positive(); break;
                    case "--round-ms": o.RoundMs = Positive(); break;
                    case "--profile": o.Profile = true; break;
                    case "--profile-top": o.ProfileTop = Positive(); break;
                    case "--conformance": o.Conformance = Next(); break;
                    case "--fixtures": o.Fixtures = Next(); break;
                    case "--depthwise": o.Depthwise = true; break;
                    case "--pointwise": o.Pointwise = true; break;
                    case "--expand-dw": o.ExpandDw = true; break;
                    case "--chain-ab": o.ChainModel = Next(); break;
                    case "--kernels": o.Kernels = true; break;
                    case "--band": o.Band = true; break;
                    case "--head": o.Head = true; break;
                    case "--tail": o.Tail = true; break;
                    case "--scaling": o.Scaling = true; break;
                    case "--cold": o.Cold = true; break;
                    case "--split-ab": o.SplitAB = true; break;
                    case "--strided-ab": o.StridedAB = true; break;
                    case "--tune": o.Tune = i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal) ? Next() : ""; break;
                    case "-h" or "--help": o.Help = true; break;
                    default: throw new ArgumentException($"unknown option '{args[i]}'");
                }
            }
            return o;
        }
    }
}
