using System.Globalization;
using CnnSharp.Onnx;

namespace CnnSharp.OrtPeer;

/// <summary>
/// <c>--profile</c> for a model that runs as a compiled plan: the plan's own per-op wall time
/// (<see cref="Compile.ExecutionPlan.Timings"/>), summed by kind and listed slowest first with each op's input and output
/// shapes, in the same form as ORT's per-node profile printed after it. (The graph step observer the runtime path reports
/// through sees no steps when the session runs a compiled plan.)
/// </summary>
internal static class PlanProfile
{
    /// <summary>Prints the profile and returns true, or returns false when <paramref name="cnn"/> has no plan for the input.</summary>
    public static bool Print(string model, int batch, OnnxSession cnn, Tensor input, int runs, int top, int threads)
    {
        cnn.Run(input);
        if (cnn.PlanFor(input.Shape) is not { } plan) return false;
        int ops = plan.Ops.Length;
        var mean = new double[ops];
        var best = Enumerable.Repeat(double.PositiveInfinity, ops).ToArray();
        for (int r = 0; r < runs; r++)
        {
            plan.Timings = new double[ops, 2];
            try
            {
                cnn.Run(input);
            }
            finally
            {
                for (int i = 0; i < ops; i++)
                {
                    double ms = plan.Timings[i, 0] * 1e3;
                    mean[i] += ms / runs;
                    best[i] = Math.Min(best[i], ms);
                }
                plan.Timings = null;
            }
        }
        string Kind(int i)
        {
            string name = plan.Ops[i].Name;
            int bracket = name.IndexOf('[', StringComparison.Ordinal);
            return bracket > 0 ? name[..bracket] : name;
        }
        double total = mean.Sum();
        Console.WriteLine(FormattableString.Invariant(
            $"  profile {model} b{batch} (CnnSharp compiled plan, {ops} ops, mean of {runs} runs, {total:F3} ms wall clock in ops on {threads} thread(s); min: the least over the runs):"));
        foreach (var group in Enumerable.Range(0, ops).GroupBy(Kind).OrderByDescending(g => g.Sum(i => mean[i])))
        {
            double ms = group.Sum(i => mean[i]);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"    {group.Key,-60} {ms,9:F3} ms {100 * ms / total,5:F1}%  ({group.Count()} ops)"));
        }
        Console.WriteLine("    slowest ops (mean ms, min ms, op, input -> output):");
        foreach (int i in Enumerable.Range(0, ops).OrderByDescending(i => mean[i]).Take(top))
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"    {mean[i],9:F3} {best[i],7:F3}  #{i} {plan.Ops[i].Name}  {plan.Shapes[plan.Ops[i].Inputs[0]]} -> {plan.Shapes[plan.Ops[i].Output]}"));
        return true;
    }
}
