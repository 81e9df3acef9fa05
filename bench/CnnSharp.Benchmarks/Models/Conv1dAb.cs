using System.Diagnostics;
using System.Globalization;
using CnnSharp.Autograd;
using CnnSharp.Compile;
using CnnSharp.Functional;
using CnnSharp.Kernels;
using CnnSharp.Modules;

namespace CnnSharp.Benchmarks.Models;

/// <summary>
/// <c>conv1d-ab</c> mode: a small audio-style 1-D CNN (1x1024 input, Conv1d 1->16 k9 s2 p4, BatchNorm1d, ReLU,
/// MaxPool1d 2, Conv1d 16->32 k5 p2, BatchNorm1d, ReLU, AdaptiveAvgPool1d 1, Linear 32->10), A eager through the module
/// (what <c>CompiledModel</c> ran for any model with a Conv1d before it had a compiled form: zero the gradients,
/// forward, cross-entropy, backward; the eval forward through the module), B the compiled plans (training step and
/// inference plan with batch norm folded). Alternating rounds in one process; medians and B/A of wall and process CPU.
/// </summary>
/// <remarks><c>conv1d-ab [--batch 32] [--threads 2] [--rounds 15] [--switch rowpool|rowpool-vector [--profile N]]</c>. Synthetic data, no optimiser.
/// <c>--switch rowpool</c>: both compiled, A the 1-D max pooling on the general pooling kernel, B on
/// <see cref="CnnSharp.Kernels.MaxPoolRowKernels"/> (<c>MaxPool2dOp.RowWindows</c>, read when the plan is made; the same bits).
/// <c>--switch rowpool-vector</c>: both on the row kernel, A its scalar loop, B kernel 2 on vectors
/// (<c>MaxPoolRowKernels.Vector</c>, a run-time switch set before each variant's work; the same bits).</remarks>
internal static class Conv1dAb
{
    internal static Sequential AudioNet(Generator g) => new(
        new Conv1d(1, 16, 9, stride: 2, padding: 4, generator: g), new BatchNorm1d(16), new ReLU(), new MaxPool1d(2),
        new Conv1d(16, 32, 5, padding: 2, generator: g), new BatchNorm1d(32), new ReLU(),
        new AdaptiveAvgPool1d(1), new Flatten(), new Linear(32, 10, generator: g));

    public static int Run(string[] args)
    {
        int batch = 32, threads = 2, rounds = 15;
        string? toggle = null;
        int profile = 0;
        for (int i = 1; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--batch": batch = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--threads": threads = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--rounds": rounds = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--switch": toggle = Next(); break;
                case "--profile": profile = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                default: Console.Error.WriteLine($"conv1d-ab: unknown option {args[i]}"); return 2;
            }
        }
        Parallelism.MaxThreads = threads;
        int[] shape = [batch, 1, 1024];
        var generator = new Generator(1);
        var input = Tensor.Randn(generator, shape);
        var labels = new int[batch];
        for (int i = 0; i < labels.Length; i++) labels[i] = generator.NextInt(10);

        var eager = AudioNet(new Generator(2));
        var model = AudioNet(new Generator(2));
        var compiled = model.Compile(shape);
        if (compiled.FallbackReason is { } reason) throw new InvalidOperationException($"conv1d-ab: the model runs eagerly: {reason}");
        Console.WriteLine(compiled.Describe(shape));
        if (toggle is not null and not "rowpool" and not "rowpool-vector") throw new ArgumentException($"conv1d-ab: unknown switch {toggle}");
        Func<float>[] steps;
        Func<Tensor>[] evals;
        Module[] modules;
        string[] names;
        Action<int>? select = toggle == "rowpool-vector" ? v => MaxPoolRowKernels.Vector = v == 1 : null;
        if (toggle is not null)
        {
            // Each variant's plans are built while the switch has its value.
            Compile.Ops.MaxPool2dOp.RowWindows = toggle == "rowpool-vector";
            var compiledA = eager.Compile(shape);
            eager.Eval();
            compiledA.Prepare(shape);
            eager.Train();
            Compile.Ops.MaxPool2dOp.RowWindows = true;
            model.Eval();
            compiled.Prepare(shape);
            model.Train();
            steps = [() => compiledA.TrainStep(input, labels), () => compiled.TrainStep(input, labels)];
            evals = [() => Eval(compiledA), () => Eval(compiled)];
            names = toggle == "rowpool" ? ["A general max pool", "B row max pool"] : ["A row pool scalar", "B row pool vector"];
            // Per-op minimum over alternating rounds (PlanAb's table): the pool's own forward time.
            PlanAb.s_select = select;
            if (profile > 0) PlanAb.PrintProfiles([(eager, compiledA), (model, compiled)], names, input, labels, profile);
        }
        else
        {
            steps = [EagerStep, () => compiled.TrainStep(input, labels)];
            evals = [EagerEval, () => Eval(compiled)];
            names = ["A eager (fallback)", "B compiled"];
        }
        modules = [eager, model];
        float EagerStep()
        {
            foreach (var p in eager.Parameters()) p.Grad = null;
            var loss = F.CrossEntropy(eager.Forward(input), labels);
            loss.Backward();
            return loss.Item();
        }
        Tensor EagerEval()
        {
            using var _ = GradMode.NoGrad();
            return eager.Forward(input);
        }
        Tensor Eval(CompiledModel c)
        {
            using var _ = GradMode.NoGrad();
            return c.Forward(input);
        }

        var train = new double[2][];
        var eval = new double[2][];
        var trainCpu = new double[2][];
        var evalCpu = new double[2][];
        for (int v = 0; v < 2; v++)
            (train[v], eval[v], trainCpu[v], evalCpu[v]) = (new double[rounds], new double[rounds], new double[rounds], new double[rounds]);
        var losses = new float[2];
        var logits = new Tensor[2];
        var process = Process.GetCurrentProcess();
        for (int r = -3; r < rounds; r++)
            for (int v = 0; v < 2; v++)
            {
                select?.Invoke(v);
                modules[v].Train();
                process.Refresh();
                var cpu0 = process.TotalProcessorTime;
                long t0 = Stopwatch.GetTimestamp();
                losses[v] = steps[v]();
                double tt = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                process.Refresh();
                double tc = (process.TotalProcessorTime - cpu0).TotalMilliseconds;
                modules[v].Eval();
                process.Refresh();
                cpu0 = process.TotalProcessorTime;
                t0 = Stopwatch.GetTimestamp();
                logits[v] = evals[v]();
                double te = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                process.Refresh();
                double ec = (process.TotalProcessorTime - cpu0).TotalMilliseconds;
                if (r < 0) continue;
                (train[v][r], trainCpu[v][r], eval[v][r], evalCpu[v][r]) = (tt, tc, te, ec);
            }
        MaxPoolRowKernels.Vector = true;
        Console.WriteLine($"audio 1-D CNN batch {batch}, {threads} threads, {rounds} alternating rounds, ISA {Isa.Level}, load {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");
        for (int v = 0; v < 2; v++)
            Console.WriteLine($"  {names[v],-20} train ms {string.Join(' ', train[v].Select(t => t.ToString("F2", CultureInfo.InvariantCulture)))}");
        double ta = ProcessStats.Median(train[0]), tb = ProcessStats.Median(train[1]), ea = ProcessStats.Median(eval[0]), eb = ProcessStats.Median(eval[1]);
        double ca = ProcessStats.Median(trainCpu[0]), cb = ProcessStats.Median(trainCpu[1]);
        double eca = ProcessStats.Median(evalCpu[0]), ecb = ProcessStats.Median(evalCpu[1]);
        Console.WriteLine($"median train step A {ta:F2} ms, B {tb:F2} ms, B/A {tb / ta:F3}; eval A {ea:F2} ms, B {eb:F2} ms, B/A {eb / ea:F3}");
        Console.WriteLine($"median process CPU per train step A {ca:F2} ms, B {cb:F2} ms, B/A {cb / ca:F3}");
        Console.WriteLine($"median process CPU per eval forward A {eca:F2} ms, B {ecb:F2} ms, B/A {ecb / eca:F3}");
        // The minimum is the round least disturbed by other load on a shared machine.
        Console.WriteLine($"minimum train step A {train[0].Min():F2} ms, B {train[1].Min():F2} ms, B/A {train[1].Min() / train[0].Min():F3}; eval A {eval[0].Min():F2} ms, B {eval[1].Min():F2} ms, B/A {eval[1].Min() / eval[0].Min():F3}");
        // Not bit-identical (the plan folds batch norm and fuses epilogues; both update the running statistics every round).
        double diff = logits[0].Data.ToArray().Zip(logits[1].Data.ToArray(), (a, b) => Math.Abs(a - b)).Max();
        bool same = logits[0].Data.SequenceEqual(logits[1].Data) && BitConverter.SingleToInt32Bits(losses[0]) == BitConverter.SingleToInt32Bits(losses[1]);
        Console.WriteLine($"last loss A {losses[0]:G9}, B {losses[1]:G9}; eval logits max |A - B| {diff:E2}; bit-identical: {same}");
        return 0;
    }
}
