using CnnSharp.Kernels;

namespace CnnSharp.Tests.Kernels;

/// <summary>The persistent worker pool: every index runs exactly once, index 0 on the caller, nesting and concurrent callers run inline, errors propagate.</summary>
public sealed class WorkerPoolTests
{
    [Fact]
    public void Run_calls_every_index_once_with_index_zero_on_the_caller()
    {
        var pool = new WorkerPool();
        for (int threads = 1; threads <= 4; threads++)
        {
            var hits = new int[threads];
            var threadIds = new int[threads];
            pool.Run(threads, i =>
            {
                Interlocked.Increment(ref hits[i]);
                threadIds[i] = Environment.CurrentManagedThreadId;
            });
            Assert.All(hits, h => Assert.Equal(1, h));
            Assert.Equal(Environment.CurrentManagedThreadId, threadIds[0]);
            Assert.Equal(threads, threadIds.Distinct().Count());
        }
        Assert.Equal(3, pool.WorkerCount);
    }

    [Fact]
    public void Many_consecutive_regions_complete_including_after_workers_went_to_sleep()
    {
        var pool = new WorkerPool();
        long total = 0;
        for (int r = 0; r < 2000; r++) pool.Run(2, i => Interlocked.Add(ref total, i + 1));
        Thread.Sleep(5 * WorkerPool.SpinMicroseconds / 1000 + 20); // workers block after spinning
        pool.Run(2, i => Interlocked.Add(ref total, i + 1));
        Assert.Equal(2001 * 3, total);
    }

    [Fact]
    public void Nested_region_runs_inline_without_deadlock()
    {
        var pool = new WorkerPool();
        var inner = new int[2 * 3];
        pool.Run(2, outer => pool.Run(3, i => inner[outer * 3 + i]++));
        Assert.All(inner, v => Assert.Equal(1, v));
    }

    [Fact]
    public void Concurrent_callers_each_get_all_their_indices()
    {
        var pool = new WorkerPool();
        var counts = new int[4];
        Parallel.For(0, 4, caller =>
        {
            for (int r = 0; r < 200; r++) pool.Run(2, i => Interlocked.Increment(ref counts[caller]));
        });
        Assert.All(counts, c => Assert.Equal(400, c));
    }

    [Fact]
    public void Exception_in_a_worker_is_rethrown_on_the_caller_after_all_finish()
    {
        var pool = new WorkerPool();
        int finished = 0;
        var e = Assert.Throws<InvalidOperationException>(() => pool.Run(3, i =>
        {
            if (i == 2) throw new InvalidOperationException("boom 2");
            Interlocked.Increment(ref finished);
        }));
        Assert.Equal("boom 2", e.Message);
        Assert.Equal(2, finished);
        int after = 0;
        pool.Run(3, _ => Interlocked.Increment(ref after));
        Assert.Equal(3, after);
    }

    [Fact]
    public void For_splits_the_range_into_contiguous_chunks()
    {
        var pool = new WorkerPool();
        var seen = new int[103];
        pool.For(103, 3, (s, e) => { for (int i = s; i < e; i++) seen[i]++; });
        Assert.All(seen, v => Assert.Equal(1, v));
    }

    private static readonly AsyncLocal<int> s_flow = new();

    [Fact]
    public void Callers_async_local_values_flow_into_the_workers()
    {
        var pool = new WorkerPool();
        var seen = new int[3];
        s_flow.Value = 42;
        pool.Run(3, i => seen[i] = s_flow.Value);
        s_flow.Value = 0;
        Assert.All(seen, v => Assert.Equal(42, v));
        pool.Run(3, i => seen[i] = s_flow.Value);
        Assert.All(seen, v => Assert.Equal(0, v));
    }
    [Fact]
    public void RunDynamic_runs_every_chunk_once_with_thread_indices_in_range()
    {
        var pool = new WorkerPool();
        foreach (var (threads, chunks) in new[] { (1, 5), (2, 1), (2, 7), (3, 40), (4, 2), (2, 0) })
        {
            var hits = new int[chunks];
            var badThread = 0;
            pool.RunDynamic(threads, chunks, (c, t) =>
            {
                Interlocked.Increment(ref hits[c]);
                if (t < 0 || t >= Math.Max(1, Math.Min(threads, chunks))) Interlocked.Increment(ref badThread);
            });
            Assert.All(hits, h => Assert.Equal(1, h));
            Assert.Equal(0, badThread);
        }
    }

    [Fact]
    public void RunDynamic_with_a_sleeping_worker_completes_and_later_regions_still_use_every_worker()
    {
        var pool = new WorkerPool();
        long sum = 0;
        for (int r = 0; r < 300; r++)
        {
            // Alternate dynamic regions (where an idle worker's ticket may be revoked) with static ones (where it may not).
            pool.RunDynamic(2, 3, (c, _) => Interlocked.Add(ref sum, c + 1));
            if (r % 50 == 0) Thread.Sleep(WorkerPool.SpinMicroseconds / 1000 + 5);
            var ids = new int[2];
            pool.Run(2, i => ids[i] = Environment.CurrentManagedThreadId);
            Assert.NotEqual(ids[0], ids[1]);
        }
        Assert.Equal(300 * 6, sum);
    }

    [Fact]
    public void RunDynamic_lets_a_free_thread_take_the_chunks_of_a_blocked_one()
    {
        var pool = new WorkerPool();
        var byThread = new int[2];
        using var release = new ManualResetEventSlim();
        // The first chunk claimed blocks until every other chunk has run: only possible if the other thread claims them all.
        int first = -1, done = 0;
        pool.RunDynamic(2, 20, (c, t) =>
        {
            if (Interlocked.CompareExchange(ref first, c, -1) == -1)
            {
                Assert.True(release.Wait(TimeSpan.FromSeconds(20)));
            }
            else if (Interlocked.Increment(ref done) == 19)
            {
                release.Set();
            }
            Interlocked.Increment(ref byThread[t]);
        });
        Assert.Equal(20, byThread[0] + byThread[1]);
        Assert.Equal(19, Math.Max(byThread[0], byThread[1]));
    }

    [Fact]
    public void RunDynamic_rethrows_a_chunk_exception_after_the_region_ends_and_nested_regions_run_inline()
    {
        var pool = new WorkerPool();
        var ex = Assert.Throws<InvalidOperationException>(() => pool.RunDynamic(2, 8, (c, _) =>
        {
            if (c == 5) throw new InvalidOperationException("chunk 5");
        }));
        Assert.Equal("chunk 5", ex.Message);
        var inner = new int[4 * 3];
        pool.RunDynamic(2, 4, (c, _) => pool.RunDynamic(2, 3, (i, t) =>
        {
            Assert.Equal(0, t);
            inner[c * 3 + i]++;
        }));
        Assert.All(inner, v => Assert.Equal(1, v));
    }

    [Fact]
    public void KeepSpinning_keeps_a_worker_awake_until_the_scope_closes_then_it_blocks()
    {
        var pool = new WorkerPool();
        var scope = pool.KeepSpinning();
        long total = 0;
        pool.Run(2, i => Interlocked.Add(ref total, i + 1));
        Thread.Sleep(40 * WorkerPool.SpinMicroseconds / 1000 + 20); // dozens of spin windows
        Assert.Equal(0, pool.SleepingWorkers);
        Assert.Equal(0, pool.Blocks);
        pool.Run(2, i => Interlocked.Add(ref total, i + 1));
        scope.Dispose();
        Assert.True(SpinWait.SpinUntil(() => pool.SleepingWorkers == 1, TimeSpan.FromSeconds(10)), "the worker kept spinning after the scope closed");
        Assert.True(pool.Blocks >= 1);
        pool.Run(2, i => Interlocked.Add(ref total, i + 1));
        Assert.Equal(3 * 3, total);
    }

    [Fact]
    public void Without_a_spin_scope_an_idle_worker_blocks_and_nested_scopes_count()
    {
        var pool = new WorkerPool();
        pool.Run(2, _ => { });
        Assert.True(SpinWait.SpinUntil(() => pool.SleepingWorkers == 1, TimeSpan.FromSeconds(10)), "an idle worker never blocked");
        using (pool.KeepSpinning())
        {
            var inner = pool.KeepSpinning();
            pool.Run(2, _ => { }); // wakes the worker, which then spins under both scopes
            inner.Dispose();
            Thread.Sleep(40 * WorkerPool.SpinMicroseconds / 1000 + 20);
            Assert.Equal(0, pool.SleepingWorkers); // the outer scope still holds it
        }
        Assert.True(SpinWait.SpinUntil(() => pool.SleepingWorkers == 1, TimeSpan.FromSeconds(10)));
    }
}
