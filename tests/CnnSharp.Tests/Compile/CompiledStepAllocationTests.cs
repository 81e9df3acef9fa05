using CnnSharp.Compile;
using CnnSharp.Kernels;
using CnnSharp.Models;
using CnnSharp.Modules;
using CnnSharp.Optimizers;
using Xunit;

namespace CnnSharp.Tests.Compile;

/// <summary>Runs alone: the all-thread allocation counter must not see other tests' allocations.</summary>
[CollectionDefinition(nameof(AllocationCountingGroup), DisableParallelization = true)]
public sealed class AllocationCountingGroup;

/// <summary>
/// A steady-state compiled training step (forward, cross-entropy, backward, Adam step) of each issue-8 model allocates
/// no managed memory, on the calling thread or on the worker threads.
/// </summary>
[Collection(nameof(AllocationCountingGroup))]
public sealed class CompiledStepAllocationTests
{
    public static TheoryData<string, int> Models => new() { { "convnet", 100 }, { "lenet5", 100 }, { "vgg_small", 16 }, { "resnet8", 16 } };

    [Theory]
    [MemberData(nameof(Models))]
    public void A_warm_compiled_training_step_allocates_nothing(string name, int batch)
    {
        Module model = name switch
        {
            "convnet" => new ConvNet(10, new Generator(1)),
            "lenet5" => LeNet5.Create(10, new Generator(1)),
            "vgg_small" => new VggSmall(10, new Generator(1)),
            _ => new ResNet8(10, new Generator(1)),
        };
        int[] shape = name is "convnet" or "lenet5" ? [batch, 1, 28, 28] : [batch, 3, 32, 32];
        using var threads = ExecutionOptions.Use(ExecutionOptions.Current with { Threads = 2 });
        var x = Tensor.Randn(new Generator(2), shape);
        var y = new int[batch];
        for (int i = 0; i < batch; i++) y[i] = i % 10;
        model.Train();
        var compiled = model.Compile(shape);
        Assert.Null(compiled.FallbackReason);
        var optimizer = new Adam(model.Parameters(), 1e-3f);
        void Step()
        {
            compiled.TrainStep(x, y);
            optimizer.Step();
        }
        // Warm-up: plans, buffers, Adam state, per-thread scratch, and JIT tiering (tier-0 code of the BCL allocates
        // where tier-1 code does not), with pauses for the background compiler.
        for (int round = 0; round < 3; round++)
        {
            for (int i = 0; i < 12; i++) Step();
            Thread.Sleep(200);
        }

        // Each pool thread's own counter (index 0 is this thread, i >= 1 runs on worker i): the worker threads' bytes
        // without the runtime's or the test runner's other threads. The sampling region itself allocates nothing.
        var counts = new long[2];
        Action<int> sample = i => counts[i] = GC.GetAllocatedBytesForCurrentThread();
        WorkerPool.Shared.Run(2, sample);
        // The least over three windows: a step that allocates does so in every window.
        long caller = long.MaxValue, worker = long.MaxValue, all = long.MaxValue;
        for (int window = 0; window < 3; window++)
        {
            WorkerPool.Shared.Run(2, sample);
            long w0 = counts[1];
            long c0 = GC.GetAllocatedBytesForCurrentThread(), a0 = GC.GetTotalAllocatedBytes(precise: true);
            Step();
            Step();
            caller = Math.Min(caller, GC.GetAllocatedBytesForCurrentThread() - c0);
            all = Math.Min(all, GC.GetTotalAllocatedBytes(precise: true) - a0);
            WorkerPool.Shared.Run(2, sample);
            worker = Math.Min(worker, counts[1] - w0);
        }
        Assert.True(caller == 0 && worker == 0,
            $"{name}: two steps allocated {caller} B on the calling thread, {worker} B on the worker ({all} B in the process); by op:\n{ByOp(compiled, shape)}");
    }

    // Where the bytes go, for the failure message: each op's forward and backward alone (calling thread / all threads).
    private static string ByOp(CompiledModel compiled, int[] shape)
    {
        var plan = compiled.TrainingPlan(new Shape(shape))!;
        var lines = new List<string>();
        foreach (var op in plan.Ops)
        {
            long c0 = GC.GetAllocatedBytesForCurrentThread(), a0 = GC.GetTotalAllocatedBytes(precise: true);
            op.Forward(plan);
            long c1 = GC.GetAllocatedBytesForCurrentThread(), a1 = GC.GetTotalAllocatedBytes(precise: true);
            op.Backward(plan);
            long c2 = GC.GetAllocatedBytesForCurrentThread(), a2 = GC.GetTotalAllocatedBytes(precise: true);
            lines.Add($"  {op.Name}: forward {c1 - c0}/{a1 - a0} B, backward {c2 - c1}/{a2 - a1} B");
        }
        return string.Join('\n', lines);
    }
}
