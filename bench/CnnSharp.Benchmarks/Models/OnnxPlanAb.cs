using System.Globalization;
using CnnSharp.Kernels;
using CnnSharp.Onnx;

namespace CnnSharp.Benchmarks.Models;

/// <summary>
/// <c>onnx-plan-ab model.onnx [batch] [rounds]</c>: one ONNX model on the compiled plan (A, the session default) and on the
/// ONNX runtime (B, <c>CompilePlan = false</c>), one thread, alternating runs in one process, thread CPU per run (best
/// and median of the rounds); then the compiled plan's per-op thread CPU (<see cref="Compile.ExecutionPlan.Timings"/>,
/// wall-clock per op on one thread, summed by op name).
/// </summary>
internal static class OnnxPlanAb
{
    public static int Run(string[] args)
    {
        string path = args[1];
        int batch = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 1;
        int rounds = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 9;
        var plan = OnnxSession.Load(path);
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
}
