using System.Diagnostics;
using System.Globalization;
using CnnSharp.Compile;
using CnnSharp.Kernels;
using CnnSharp.Models;
using CnnSharp.Modules;

namespace CnnSharp.Benchmarks.Models;

/// <summary>
/// <c>plan-ab</c> mode: the compiled training step and eval forward of a residual network with one plan pass off (A) and
/// on (B), in one process: <c>--switch residual</c> (default), A the Add + ReLU a separate op after each conv chain, B
/// fused into the chain; <c>--switch strided</c>, A the stride-2 convs (and their batch norms) on the implicit GEMM, B
/// as the first stages of conv chains (<c>PlanBuilder.StridedChains</c>, training and inference plans); <c>--switch
/// strided-eval</c>, the same for inference plans only (<c>PlanBuilder.StridedInferenceChains</c>: the training plans are
/// the same in A and B);
/// alternating A and B every round so both see the same machine load. Prints per-round times, the medians and B/A, in
/// wall time and in process CPU time (less sensitive to the threads being descheduled on a shared machine).
/// </summary>
/// <remarks><c>plan-ab [--model resnet8|resnet20_fmnist|resnet9_fmnist|vgg_small|lenet5|convnet] [--switch residual|strided|strided-eval|stem|pool|blocked|blocked-eval|dwgroup|rowtiles|transpose|chunks|equal-chunks|plan-spin|stop12|smallwino|packing|wide512|scatter|projection|zero-taps|phase-groups|pad-positions|train-projection|train-downsampling|train-merge|eval-pack|eval-pool|eval-stop18] [--threads 2] [--rounds 15] [--profile N] [--profile-eval N] [--eval-only]</c>:
/// ResNet8 and VGG-small at batch 64 on 3x32x32 (issue 8), ResNet20 at batch 128 on 1x28x28 (Fashion-MNIST, issue 10).
/// <c>--switch strided</c>: A stride-2 convs on the GEMM, B in conv chains (<c>PlanBuilder.StridedChains</c>).
/// <c>--switch stem</c> A/Bs the small-channel stem instead: A Conv2dOp (GEMM) + batch norm, B the stem as a conv-chain
/// stage, also when it is the chain's only stage (<c>PlanBuilder.SmallChannelStems</c> and <c>LoneStemChains</c>).
/// <c>--switch blocked</c>: A one conv chain per residual block (NCHW between blocks), B identity blocks merged into the
/// chain before them, the skip kept blocked (<c>PlanBuilder.BlockedResiduals</c>, training plans only).
/// <c>--switch dwgroup</c>: A one direct weight-gradient call per image, B small feature maps several images per call
/// (<c>ConvChainLayer.GroupedWeightGrad</c>). <c>--switch blocked-eval</c>: the same merge in inference plans
/// (<c>PlanBuilder.BlockedInferenceResiduals</c>; A/B the eval numbers).
/// <c>--switch rowtiles</c>: A direct convs (and their input gradients) in tiles of one output row, B narrow outputs
/// in block tiles of several rows (<c>DirectConv2d.MultiRowTiles</c>).
/// <c>--switch transpose</c>: the same plans, A the NCHW ↔ blocked conversions scalar, B through
/// <see cref="CnnSharp.Kernels.Direct.ChannelTranspose"/>'s vector path (a run-time switch, set before each variant's step).
/// <c>--switch chunks</c>: A conv chains cut the batch into ceil(n/5) chunks, B into an even count (<c>ConvChainOp.EvenChunks</c>).
/// <c>--switch equal-chunks</c>: A training chains' chunks of about 5 images, B an even count dividing the batch exactly
/// (<c>ConvChainOp.EqualChunks</c>; batch 64: 16 chunks of 4).
/// <c>--switch plan-spin</c>: the same plans, A the workers block 50 us after their last job, B they spin while a plan
/// runs (<c>WorkerPool.PlanScopedSpinning</c>, a run-time switch).
/// <c>--switch smallwino</c>: A 3x3 stages Winograd only from the tile thresholds (16 tiles in training, 17 in inference plans),
/// B also 8x8..16x16 maps of at most 64 x 64 channels (<c>ConvChainLayer.SmallMapWinograd</c>).
/// <c>--switch packing</c>: the same plans, A the conv chains' weight packing on the calling thread, B split over the
/// step's threads (<c>ConvChainOp.SplitPacking</c>, a run-time switch).
/// <c>--switch wide512</c>: A the Winograd transforms and GEMMs on 8-lane vectors, B on 16 lanes where the path is V512
/// (<c>WinogradConv2d.Wide512</c>, read when a plan is made; the same bits).
/// <c>--switch scatter</c>: the same plans, A the strided chains' input gradient added into NCHW one column phase at a
/// time, B both phases of a row in one interleaved pass (<c>StridedConv2d.InterleavedInputGradient</c>, a run-time switch).
/// <c>--switch projection</c>: A inference plans keep each downsampling block's projection shortcut as its own chain
/// (NCHW between the blocks), B compute it inside the block's chain from its phase image and merge the blocks into one
/// chain (<c>PlanBuilder.InferenceProjections</c>; training plans are the same in both).
/// <c>--switch zero-taps</c>: the same plans, A strided convs' forward, input gradient and weight gradient over every tap
/// of the expanded phase weight, B skipping its zero taps (<see cref="CnnSharp.Kernels.Direct.DirectConv2d.SkipZeroTaps"/>,
/// a run-time switch).
/// <c>--switch phase-groups</c>: A strided input gradients with 16-channel phases in 32-channel output groups (two phases
/// each), B in 16-channel groups on AVX-512 (<see cref="CnnSharp.Kernels.Direct.StridedConv2d.SinglePhaseGroups"/>).
/// <c>--switch pad-positions</c>: A the Winograd kernels' block scratch with positions tiles x channels floats apart, B one
/// 64-byte line more (<c>WinogradConv2d.PadPositions</c>, read when a plan is made; all Winograd plans).
/// <c>--switch train-projection</c>: A training plans keep each downsampling block's projection shortcut as its own chain,
/// B inside the block's chain beside its strided stage (<c>PlanBuilder.TrainingProjections</c>; both without the downsampling merge).
/// <c>--switch train-downsampling</c>: both with in-chain projections, A each downsampling block its own chain, B merged into
/// the chain before it (<c>PlanBuilder.TrainingDownsampling</c>). <c>--switch train-merge</c>: A both off (stop 16's training
/// plans), B both on.
/// <c>--switch eval-pack</c>: A inference chains pack their weights
/// every forward, B only when the tensors they pack from changed (<c>ConvChainOp.ReusePackedWeights</c>).
/// <c>--switch eval-pool</c>: A a global average pool after an inference chain its own op, B the chain pools each output
/// image as it writes it (<c>ChainPoolOp.Enabled</c>). <c>--switch eval-stop18</c>: both of the last two.
/// <c>--eval-only</c>: the timed rounds run only the eval forwards (back to back, as an eval loop runs: a training step
/// in between changes the running statistics, so every eval forward would pack again).
/// <c>--switch stop12</c>: both of the last two together (before and after docs/performance.md's stop 12).
/// The seed ConvNet runs at batch 100 on 1x28x28. LeNet-5 (batch 100, 1x28x28) takes <c>--switch pool</c> (its default): A the generic AvgPool2d op, B AvgPool2x2Op.
/// Synthetic data, no optimiser. <c>--profile N</c> first prints each variant's per-op table: N alternating rounds of
/// <c>CompiledModel.Profile</c> (2 steps each), the minimum per op over the rounds (the least disturbed by other load);
/// <c>--profile-eval N</c> the same for the eval forward (the inference plan's per-op wall time).</remarks>
internal static class PlanAb
{
    internal static Action<int>? s_select;

    public static int Run(string[] args)
    {
        string name = "resnet8", toggle = "residual";
        int threads = 2, rounds = 15, profile = 0, profileEval = 0;
        bool evalOnly = false;
        for (int i = 1; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--model": name = Next(); break;
                case "--switch": toggle = Next(); break;
                case "--threads": threads = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--rounds": rounds = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--profile": profile = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--profile-eval": profileEval = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--eval-only": evalOnly = true; break;
                default: Console.Error.WriteLine($"plan-ab: unknown option {args[i]}"); return 2;
            }
        }
        Func<Generator, Module> create = name switch
        {
            "resnet8" => g => new ResNet8(10, g),
            "resnet20_fmnist" => g => new ResNet20(10, g, inChannels: 1),
            "resnet9_fmnist" => g => new ResNet9(10, g, inChannels: 1),
            "vgg_small" => g => new VggSmall(generator: g),
            "lenet5" => g => LeNet5.Create(10, g),
            "convnet" => g => new ConvNet(10, g),
            _ => throw new ArgumentException($"plan-ab: unknown model {name}"),
        };
        int[] shape = name switch { "resnet8" or "vgg_small" => [64, 3, 32, 32], "lenet5" or "convnet" => [100, 1, 28, 28], _ => [128, 1, 28, 28] };
        if (name == "lenet5" && toggle == "residual") toggle = "pool";
        Action<bool> set = toggle switch
        {
            "residual" => on => PlanBuilder.ResidualChains = on,
            "stem" => on => (PlanBuilder.SmallChannelStems, PlanBuilder.LoneStemChains) = (on, on),
            "strided" => on => PlanBuilder.StridedChains = on,
            "strided-eval" => on => PlanBuilder.StridedInferenceChains = on,
            "pool" => on => Compile.Ops.AvgPool2x2Op.Enabled = on,
            "blocked" => on => PlanBuilder.BlockedResiduals = on,
            "dwgroup" => on => Compile.Ops.ConvChainLayer.GroupedWeightGrad = on,
            "rowtiles" => on => CnnSharp.Kernels.Direct.DirectConv2d.MultiRowTiles = on,
            "blocked-eval" => on => PlanBuilder.BlockedInferenceResiduals = on,
            "transpose" => on => CnnSharp.Kernels.Direct.ChannelTranspose.Enabled = on,
            "chunks" => on => Compile.Ops.ConvChainOp.EvenChunks = on,
            "equal-chunks" => on => Compile.Ops.ConvChainOp.EqualChunks = on,
            "plan-spin" => on => CnnSharp.Kernels.WorkerPool.PlanScopedSpinning = on,
            "smallwino" => on => Compile.Ops.ConvChainLayer.SmallMapWinograd = on,
            "packing" => on => Compile.Ops.ConvChainOp.SplitPacking = on,
            "wide512" => on => CnnSharp.Kernels.Direct.WinogradConv2d.Wide512 = on,
            "scatter" => on => CnnSharp.Kernels.Direct.StridedConv2d.InterleavedInputGradient = on,
            "projection" => on => PlanBuilder.InferenceProjections = on,
            "zero-taps" => on => CnnSharp.Kernels.Direct.DirectConv2d.SkipZeroTaps = on,
            "phase-groups" => on => CnnSharp.Kernels.Direct.StridedConv2d.SinglePhaseGroups = on,
            "pad-positions" => on => CnnSharp.Kernels.Direct.WinogradConv2d.PadPositions = on,
            "train-projection" => on => (PlanBuilder.TrainingProjections, PlanBuilder.TrainingDownsampling) = (on, false),
            "train-downsampling" => on => PlanBuilder.TrainingDownsampling = on,
            "train-merge" => on => (PlanBuilder.TrainingProjections, PlanBuilder.TrainingDownsampling) = (on, on),
            "eval-pack" => on => Compile.Ops.ConvChainOp.ReusePackedWeights = on,
            "eval-pool" => on => Compile.Ops.ChainPoolOp.Enabled = on,
            "eval-stop18" => on => (Compile.Ops.ConvChainOp.ReusePackedWeights, Compile.Ops.ChainPoolOp.Enabled) = (on, on),
            "stop12" => on => (Compile.Ops.ConvChainOp.EvenChunks, CnnSharp.Kernels.Direct.ChannelTranspose.Enabled) = (on, on),
            _ => throw new ArgumentException($"plan-ab: unknown switch {toggle}"),
        };
        Action<bool> reset = toggle == "stem" ? _ => (PlanBuilder.SmallChannelStems, PlanBuilder.LoneStemChains) = (true, false)
            : toggle == "train-projection" ? _ => (PlanBuilder.TrainingProjections, PlanBuilder.TrainingDownsampling) = (true, true) : set;
        string[] variantNames = toggle switch
        {
            "stem" => ["A stem Conv2dOp+BN", "B stem in a chain"],
            "strided" => ["A stride 2 on GEMM", "B stride 2 in chains"],
            "strided-eval" => ["A eval stride 2 GEMM", "B eval stride 2 chain"],
            "pool" => ["A AvgPool2d op", "B AvgPool2x2Op"],
            "blocked" => ["A chain per block", "B blocks merged"],
            "dwgroup" => ["A dW per image", "B dW image groups"],
            "rowtiles" => ["A direct row tiles", "B multi-row tiles"],
            "blocked-eval" => ["A eval chain per block", "B eval blocks merged"],
            "transpose" => ["A scalar NCHW<->blocked", "B vector transposes"],
            "chunks" => ["A odd chunk counts", "B even chunk counts"],
            "equal-chunks" => ["A chunks of 4-5 images", "B equal chunks dividing n"],
            "plan-spin" => ["A workers block after 50 us", "B workers spin during a plan"],
            "smallwino" => ["A tile thresholds only", "B small-map Winograd"],
            "packing" => ["A packing on one thread", "B packing split"],
            "wide512" => ["A Winograd 8 lanes", "B Winograd 16 lanes"],
            "scatter" => ["A dx scatter per phase", "B dx scatter interleaved"],
            "projection" => ["A eval projection chains", "B eval projections in chain"],
            "zero-taps" => ["A strided: every tap", "B strided: skip zero taps"],
            "phase-groups" => ["A strided dx 2 phases/group", "B strided dx 1 phase/group"],
            "pad-positions" => ["A Winograd positions tiles*C apart", "B padded by a line"],
            "train-projection" => ["A projection chains", "B projections in-chain"],
            "train-downsampling" => ["A block chains", "B downsampling merged"],
            "train-merge" => ["A stop 16 plans", "B both merges"],
            "eval-pack" => ["A eval packs every forward", "B eval packs on change"],
            "eval-pool" => ["A eval GlobalAvgPool2d op", "B eval chain pools"],
            "eval-stop18" => ["A eval before stop 18", "B eval after stop 18"],
            "stop12" => ["A before stop 12", "B after stop 12"],
            _ => ["A separate Add+ReLU", "B residual in chain"],
        };
        // A run-time switch (read by the kernels on every call, not when planning) is set before each variant's work.
        s_select = toggle is "transpose" or "stop12" or "packing" or "scatter" or "plan-spin" or "zero-taps" ? v => set(v == 1) : null;
        Parallelism.MaxThreads = threads;
        var generator = new Generator(1);
        var input = Tensor.Randn(generator, shape);
        var labels = new int[shape[0]];
        for (int i = 0; i < labels.Length; i++) labels[i] = generator.NextInt(10);

        // Each variant's plans (training and eval) are built while the switch has its value; a plan never rebuilds.
        var variants = new List<(Module Model, CompiledModel Compiled)>();
        var evalOutputs = new List<float[]>();
        foreach (bool on in new[] { false, true })
        {
            set(on);
            var model = create(new Generator(2));
            var compiled = model.Compile(shape);
            compiled.TrainStep(input, labels);
            model.Eval();
            using (CnnSharp.Autograd.GradMode.NoGrad()) evalOutputs.Add(compiled.Forward(input).ToArray());
            model.Train();
            variants.Add((model, compiled));
        }
        Console.WriteLine($"eval outputs of A and B bit-identical: {evalOutputs[0].AsSpan().SequenceEqual(evalOutputs[1])}");
        reset(true);
        if (profile > 0)
        {
            PrintProfiles(variants, variantNames, input, labels, profile);
            ChainAb.PrintBackwardPasses([.. variants.Select(v => v.Compiled)], variantNames, input, labels, s_select);
        }
        if (profileEval > 0)
        {
            PrintEvalProfiles(variants, variantNames, input, profileEval);
            PrintEvalPasses(variants, variantNames, input);
        }

        var train = new double[2][];
        var eval = new double[2][];
        var trainCpu = new double[2][];
        var evalCpu = new double[2][];
        for (int v = 0; v < 2; v++)
            (train[v], eval[v], trainCpu[v], evalCpu[v]) = (new double[rounds], new double[rounds], new double[rounds], new double[rounds]);
        var process = Process.GetCurrentProcess();
        for (int r = -2; r < rounds; r++)
            for (int v = 0; v < 2; v++)
            {
                var (model, compiled) = variants[v];
                s_select?.Invoke(v);
                model.Train();
                process.Refresh();
                var cpu0 = process.TotalProcessorTime;
                long t0 = Stopwatch.GetTimestamp();
                if (!evalOnly) compiled.TrainStep(input, labels);
                double tt = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                process.Refresh();
                double tc = (process.TotalProcessorTime - cpu0).TotalMilliseconds;
                model.Eval();
                process.Refresh();
                cpu0 = process.TotalProcessorTime;
                t0 = Stopwatch.GetTimestamp();
                using (CnnSharp.Autograd.GradMode.NoGrad()) compiled.Forward(input);
                double te = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                process.Refresh();
                double ec = (process.TotalProcessorTime - cpu0).TotalMilliseconds;
                if (r < 0) continue;
                train[v][r] = tt;
                trainCpu[v][r] = tc;
                eval[v][r] = te;
                evalCpu[v][r] = ec;
            }
        Console.WriteLine($"{name} batch {shape[0]}, {threads} threads, {rounds} alternating rounds, ISA {Isa.Level}, load {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");
        for (int v = 0; v < 2; v++)
            Console.WriteLine($"  {variantNames[v],-22} train ms {string.Join(' ', train[v].Select(t => t.ToString("F1", CultureInfo.InvariantCulture)))}");
        double ta = ProcessStats.Median(train[0]), tb = ProcessStats.Median(train[1]), ea = ProcessStats.Median(eval[0]), eb = ProcessStats.Median(eval[1]);
        double ca = ProcessStats.Median(trainCpu[0]), cb = ProcessStats.Median(trainCpu[1]);
        Console.WriteLine($"median train step A {ta:F1} ms, B {tb:F1} ms, B/A {tb / ta:F3}; eval A {ea:F1} ms, B {eb:F1} ms, B/A {eb / ea:F3}");
        Console.WriteLine($"median process CPU per train step A {ca:F1} ms, B {cb:F1} ms, B/A {cb / ca:F3}");
        double eca = ProcessStats.Median(evalCpu[0]), ecb = ProcessStats.Median(evalCpu[1]);
        Console.WriteLine($"median process CPU per eval forward A {eca:F1} ms, B {ecb:F1} ms, B/A {ecb / eca:F3}");
        return 0;
    }

    // The conv chains' forward passes in the eval forward (thread CPU, 5 forwards per variant; ChainAb.PrintPasses).
    private static void PrintEvalPasses(List<(Module Model, CompiledModel Compiled)> variants, string[] names, Tensor input)
    {
        for (int v = 0; v < variants.Count; v++)
        {
            var (model, compiled) = variants[v];
            s_select?.Invoke(v);
            model.Eval();
            var ticks = new long[8 * Compile.Ops.ConvChainOp.ForwardPassNames.Length];
            Compile.Ops.ConvChainOp.ForwardPassTicks = ticks;
            Compile.Ops.ConvChainOp.PassClock = () => (long)(CpuClock.Seconds() * 1e9);
            using (CnnSharp.Autograd.GradMode.NoGrad())
                for (int i = 0; i < 5; i++) compiled.Forward(input);
            Compile.Ops.ConvChainOp.ForwardPassTicks = null;
            Compile.Ops.ConvChainOp.PassClock = Stopwatch.GetTimestamp;
            model.Train();
            ChainAb.PrintPasses($"{names[v]} eval forward passes, thread CPU ms per forward summed over threads:", Compile.Ops.ConvChainOp.ForwardPassNames, ticks);
        }
    }

    // Per op of the inference plan, the minimum over alternating rounds of its forward milliseconds (2 forwards a round).
    private static void PrintEvalProfiles(List<(Module Model, CompiledModel Compiled)> variants, string[] names, Tensor input, int rounds)
    {
        var best = new double[2][];
        var plans = new ExecutionPlan[2];
        for (int r = 0; r < rounds; r++)
            for (int v = 0; v < 2; v++)
            {
                var (model, compiled) = variants[v];
                s_select?.Invoke(v);
                model.Eval();
                var plan = plans[v] ??= compiled.InferencePlan(input.Shape) ?? throw new InvalidOperationException("plan-ab: the eval forward runs eagerly");
                plan.Timings = new double[plan.Ops.Length, 2];
                using (CnnSharp.Autograd.GradMode.NoGrad())
                    for (int i = 0; i < 2; i++) compiled.Forward(input);
                var ms = Enumerable.Range(0, plan.Ops.Length).Select(i => plan.Timings[i, 0] * 1000 / 2).ToArray();
                plan.Timings = null;
                best[v] = best[v] is null ? ms : [.. best[v].Zip(ms, Math.Min)];
                model.Train();
            }
        for (int v = 0; v < 2; v++)
        {
            Console.WriteLine($"{names[v]}: eval per-op ms per forward, minimum over {rounds} rounds, ISA {Isa.Level}, total {best[v].Sum():F2}");
            for (int i = 0; i < plans[v].Ops.Length; i++)
                Console.WriteLine($"  {best[v][i],8:F2}  {plans[v].Ops[i].Name} -> {plans[v].Shapes[plans[v].Ops[i].Output]}");
        }
    }

    // Per op, the minimum over alternating rounds of the forward and backward milliseconds CompiledModel.Profile reports.
    internal static void PrintProfiles(List<(Module Model, CompiledModel Compiled)> variants, string[] names, Tensor input, int[] labels, int rounds)
    {
        var best = new List<(string Op, double Fwd, double Bwd)>[2];
        for (int r = 0; r < rounds; r++)
            for (int v = 0; v < 2; v++)
            {
                s_select?.Invoke(v);
                variants[v].Model.Train();
                var rows = variants[v].Compiled.Profile(input, labels, 2).Split(Environment.NewLine).Skip(1).Select(line =>
                {
                    var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    return (Op: string.Join(' ', parts[..^2]), Fwd: double.Parse(parts[^2], CultureInfo.InvariantCulture),
                        Bwd: double.Parse(parts[^1], CultureInfo.InvariantCulture));
                }).ToList();
                best[v] = best[v] is null ? rows : [.. best[v].Zip(rows, (a, b) => (a.Op, Math.Min(a.Fwd, b.Fwd), Math.Min(a.Bwd, b.Bwd)))];
            }
        for (int v = 0; v < 2; v++)
        {
            Console.WriteLine($"{names[v]}: per-op ms per step, minimum over {rounds} rounds (fwd, bwd), ISA {Isa.Level}");
            foreach (var (op, f, b) in best[v]) Console.WriteLine($"  {f,8:F2} {b,8:F2}  {op}");
        }
    }
}
