using System.Globalization;
using CnnSharp.Compile;
using CnnSharp.Onnx;

namespace CnnSharp.OrtPeer;

/// <summary>
/// <c>--strided-ab</c>: CnnSharp's compiled plan with stride-2 convolutions on the implicit GEMM (A: a session planned
/// while <see cref="PlanBuilder.StridedInferenceChains"/> is off) against the default plan (B: stride-2 convs starting conv
/// chains), with ONNX Runtime, in alternating rounds of one process; process CPU time per run (a loaded machine inflates
/// wall time, not CPU time), and each plan's per-op wall time, the minimum over the rounds.
/// </summary>
internal static class StridedAb
{
    public static void Run(string model, int batch, string path, OnnxSession b, Tensor input, int rounds, int roundMs, int threads, Func<double> ortCpu)
    {
        var a = OnnxSession.Load(path);
        PlanBuilder.StridedInferenceChains = false;
        try
        {
            a.Run(input); // plans A while the switch is off; a plan never rebuilds
        }
        finally
        {
            PlanBuilder.StridedInferenceChains = true;
        }
        var plans = new[] { a.PlanFor(input.Shape), b.PlanFor(input.Shape) };
        if (plans[0] is null || plans[1] is null)
        {
            Console.WriteLine($"{model} b{batch} strided A/B: no compiled plan");
            return;
        }
        var sessions = new[] { a, b };
        for (int w = 0; w < 3; w++) foreach (var s in sessions) s.Run(input);
        int reps = Program.Reps(() => a.Run(input), roundMs);
        var cpu = new[] { new double[rounds], new double[rounds] };
        var ort = new double[rounds];
        var best = new double[2][];
        for (int r = 0; r < rounds; r++)
        {
            for (int k = 0; k < 2; k++)
            {
                int v = r % 2 == 0 ? k : 1 - k;
                var s = sessions[v];
                cpu[v][r] = Program.TimeBoth(() => s.Run(input), reps, threads).Cpu;
                var plan = plans[v]!;
                plan.Timings = new double[plan.Ops.Length, 2];
                s.Run(input);
                var ms = Enumerable.Range(0, plan.Ops.Length).Select(i => plan.Timings[i, 0] * 1000).ToArray();
                plan.Timings = null;
                best[v] = best[v] is null ? ms : [.. best[v].Zip(ms, Math.Min)];
            }
            ort[r] = ortCpu();
        }
        double ca = Program.Median(cpu[0]), cb = Program.Median(cpu[1]), co = Program.Median(ort);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{model} b{batch} strided A/B, process CPU ms per run (median of {rounds}): A stride 2 on GEMM {ca * 1000:F2}, B stride 2 in chains {cb * 1000:F2}, B/A {cb / ca:F3}; ORT {co * 1000:F2}; CPU ratio to ORT: A {ca / co:F2}, B {cb / co:F2}"));
        string[] names = ["A stride 2 on GEMM", "B stride 2 in chains"];
        for (int v = 0; v < 2; v++)
        {
            var plan = plans[v]!;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {names[v]}: per-op wall ms, minimum over {rounds} rounds, total {best[v].Sum():F2}"));
            for (int i = 0; i < plan.Ops.Length; i++)
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"    {best[v][i],8:F3}  {plan.Ops[i].Name} -> {plan.Shapes[plan.Ops[i].Output]}"));
        }
    }
}
