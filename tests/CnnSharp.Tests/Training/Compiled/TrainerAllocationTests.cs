using CnnSharp.Data;
using CnnSharp.Models;
using CnnSharp.Tests.Training;
using CnnSharp.Training;

namespace CnnSharp.Tests.Training.Compiled;

/// <summary>The fast training loop (data loader, compiled executor, Adam) allocates next to nothing per step once warm.</summary>
public sealed class TrainerAllocationTests
{
    private static Trainer Create(int epochs)
    {
        var options = new TrainingOptions { Epochs = epochs, BatchSize = 16, Seed = 2, OutputPath = null, FastPath = true, Optimizer = OptimizerKind.Adam };
        var model = new ConvNet(generator: new Generator(2));
        return new Trainer(model, Trainer.CreateOptimizer(model, options), options);
    }

    [Fact]
    public void Fit_on_the_fast_path_allocates_under_1_KB_per_step_in_steady_state()
    {
        // 160 samples in batches of 16: 10 steps per epoch. The difference between a 1-epoch and a 4-epoch Fit on
        // identical trainers is 3 epochs of steady-state training: 30 steps plus 3 epochs' bookkeeping (order array,
        // enumerator, report). Allocation is counted on the calling thread: the worker threads only run kernels.
        // A scoped (async-local) thread count: other test classes set the process default in parallel, and a kernel
        // whose thread count changes between steps re-creates its per-thread state (not steady state).
        using var threads = ExecutionOptions.Use(ExecutionOptions.Default with { Threads = 2 });
        var data = SyntheticDigits.Create(160, seed: 6);
        var one = Create(epochs: 1);
        var four = Create(epochs: 4);
        Assert.True(one.UsesFastPath);
        // Warm-up: plans, buffers, Adam state, and JIT tiering (tier-0 code of the BCL allocates where tier-1 code does
        // not: with DOTNET_EnableAVX2=0 the ready-to-run framework code is rejected and everything starts at tier 0).
        SettleJit(() => one.Fit(data, test: null, startEpoch: 1));
        four.Fit(data, test: null, startEpoch: 4);

        long start = GC.GetAllocatedBytesForCurrentThread();
        var oneReports = one.Fit(data, test: null, startEpoch: 1);
        long oneEpoch = GC.GetAllocatedBytesForCurrentThread() - start;
        start = GC.GetAllocatedBytesForCurrentThread();
        var fourReports = four.Fit(data, test: null, startEpoch: 1);
        long fourEpochs = GC.GetAllocatedBytesForCurrentThread() - start;

        Assert.Single(oneReports);
        Assert.Equal(4, fourReports.Count);
        Assert.All(fourReports, r => Assert.True(double.IsFinite(r.TrainLoss)));
        long perStep = (fourEpochs - oneEpoch) / 30;
        Assert.True(perStep < 1024, $"{perStep} bytes allocated per training step ({oneEpoch} B for 1 epoch, {fourEpochs} B for 4)");
    }

    [Fact]
    public void Reused_batches_feed_the_compiled_step_and_Adam_without_allocating()
    {
        using var threads = ExecutionOptions.Use(ExecutionOptions.Default with { Threads = 2 });
        var trainer = Create(epochs: 1);
        var loader = new DataLoader(SyntheticDigits.Create(64, seed: 7), 16, shuffle: true, seed: 3, reuseBuffers: true);
        SettleJit(() =>
        {
            foreach (var batch in loader.Batches(0)) trainer.TrainStep(batch.Images, batch.Labels);
        });
        const int epochs = 5;
        float lossSum = 0;
        long start = GC.GetAllocatedBytesForCurrentThread();
        for (int e = 1; e <= epochs; e++)
            foreach (var batch in loader.Batches(e)) lossSum += trainer.TrainStep(batch.Images, batch.Labels);
        long perStep = (GC.GetAllocatedBytesForCurrentThread() - start) / (epochs * 4);
        Assert.True(float.IsFinite(lossSum) && lossSum > 0);
        Assert.True(perStep < 1024, $"{perStep} bytes allocated per training step");
    }

    // Runs the warm-up until tiered compilation has had its chance: 12 calls (each runs 4-10 steps; tier-1 promotion needs
    // 30 calls of a method), a pause for the background compiler, 12 more. Steady state, the thing measured, begins
    // after JIT tiering.
    private static void SettleJit(Action warmUp)
    {
        for (int round = 0; round < 2; round++)
        {
            for (int i = 0; i < 12; i++) warmUp();
            Thread.Sleep(300);
        }
    }
}
