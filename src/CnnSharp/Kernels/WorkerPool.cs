using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace CnnSharp.Kernels;

/// <summary>
/// A persistent pool of worker threads for fork-join kernel regions: <c>Run(threads, body)</c> calls
/// <c>body(0)</c> on the calling thread and <c>body(1..threads-1)</c> on workers, then waits for all of them.
/// </summary>
/// <remarks>
/// <para>Why not <c>Parallel.For</c>: a training step of the tutorial's ConvNet has ~10-40 parallel regions; an empty
/// <c>Parallel.For(0, 2)</c> costs ~6 us per call, a spinning persistent worker ~0.5 us (measured on this project's 2-core test machines, docs/performance.md).</para>
/// <para>Handoff: each worker owns a volatile sequence number. The caller publishes the job, bumps the numbers of the
/// workers it needs, and pulses only those that went to sleep. A worker spins on its number for
/// <see cref="SpinMicroseconds"/> after its last job, then blocks on its own monitor, so an idle pool burns no CPU. The
/// caller waits for completion the same way. Both sleep decisions use a Dekker-style pair of full fences
/// (<c>Interlocked</c> write, then read the other side's flag), so a wake-up can never be lost.</para>
/// <para>Plan-scoped spinning: while a <see cref="KeepSpinning"/> scope is open (a compiled plan's forward or backward
/// pass holds one), a spinning worker or caller renews its spin window instead of blocking, so a worker woken by the
/// first region of a plan stays awake across the plan's ~50-100 regions and the gaps between them; past the first
/// window it yields its core (<c>Thread.Yield</c>) between checks, for oversubscribed machines. When the last scope
/// closes, spinners block after at most one more window: an idle pool still burns no CPU.</para>
/// <para>Re-entrancy: only one region runs at a time. A call made while the pool is busy (a nested region inside a
/// job, or a second thread using the pool concurrently) runs its whole body inline on the caller, in index order.
/// The split is static either way, so results do not depend on which path ran.</para>
/// <para>The caller's <see cref="ExecutionContext"/> (AsyncLocal values) flows into the workers for the region, as with
/// <c>Parallel.For</c>.</para>
/// <para>No allocation per region: the body delegate is the caller's; exceptions thrown by jobs are collected and the
/// first one is rethrown on the caller after every job has finished.</para>
/// </remarks>
internal sealed class WorkerPool
{
    /// <summary>How long an idle worker (or the waiting caller) spins before blocking.</summary>
    internal const int SpinMicroseconds = 50;

    private static readonly long s_spinTicks = Math.Max(1, Stopwatch.Frequency * SpinMicroseconds / 1_000_000);

    private readonly object _growLock = new();
    private readonly object _doneLock = new();
    private Worker[] _workers = [];
    private int _busy;
    private Action<int>? _job;
    private ExecutionContext? _context;
    private int _pending;
    private int _callerSleeping;
    private Exception? _error;
    private int _holds;
    private long _blocks;

    // Parallelism.For adapter state (valid only while the pool is busy with a For region).
    private int _forCount;
    private int _forChunks;
    private Action<int, int>? _forBody;
    private readonly Action<int> _forChunk;

    // RunDynamic state (valid only while the pool is busy with a dynamic region).
    private int _dynamicNext;
    private int _dynamicChunks;
    private Action<int, int>? _dynamicBody;
    private readonly Action<int> _dynamicLoop;

    /// <summary>The process-wide pool used by <see cref="Parallelism"/> and the fused training engine.</summary>
    public static WorkerPool Shared { get; } = new();

    /// <summary>Creates an empty pool; workers are started on first use.</summary>
    public WorkerPool()
    {
        _forChunk = RunForChunk;
        _dynamicLoop = RunDynamicLoop;
    }

    /// <summary>Whether compiled plans open a <see cref="KeepSpinning"/> scope on the shared pool for each pass (default
    /// on; the A/B switch <c>plan-spin</c> of the benchmarks' <c>onnx-plan-ab</c>). Measured 0.89-0.94x wall at
    /// MobileNet-v2 batch 1 with 3 runnable threads per core, but 1.48x with 8 (the spinner then takes CPU share from
    /// the thread with the work): docs/performance.md, stop 15.</summary>
    internal static bool PlanScopedSpinning { get; set; } = true;

    /// <summary>How many times a worker or the waiting caller has blocked (gone to sleep) on this pool so far.</summary>
    internal long Blocks => Interlocked.Read(ref _blocks);

    /// <summary>Number of workers blocked right now (asleep, burning no CPU).</summary>
    internal int SleepingWorkers => Volatile.Read(ref _workers).Count(w => w.IsSleeping);

    /// <summary>
    /// Keeps spinning workers (and a waiting caller) spinning until the returned scope is disposed, instead of blocking
    /// after <see cref="SpinMicroseconds"/>; scopes nest and may come from several threads (a count). Workers already
    /// asleep are not woken.
    /// </summary>
    public SpinScope KeepSpinning()
    {
        Interlocked.Increment(ref _holds);
        return new SpinScope(this);
    }

    /// <summary>An open <see cref="KeepSpinning"/> request; <see cref="Dispose"/> closes it (once per scope value).</summary>
    public readonly struct SpinScope : IDisposable
    {
        private readonly WorkerPool? _pool;

        internal SpinScope(WorkerPool pool) => _pool = pool;

        /// <summary>Closes the scope: when no other scope is open, spinners block after their current window.</summary>
        public void Dispose()
        {
            if (_pool is not null) Interlocked.Decrement(ref _pool._holds);
        }
    }

    // Spin-wait step shared by workers and the caller: false once the window has passed and no scope holds the spinners;
    // under a scope the window is renewed and the core yielded between checks.
    private bool KeepWaiting(ref long deadline, ref int spins)
    {
        Thread.SpinWait(4);
        if ((++spins & 63) != 0) return true;
        long now = Stopwatch.GetTimestamp();
        if (now <= deadline) return true;
        if (Volatile.Read(ref _holds) == 0) return false;
        deadline = now + s_spinTicks;
        Thread.Yield();
        return true;
    }

    /// <summary>Number of worker threads started so far (the caller is not counted).</summary>
    public int WorkerCount => Volatile.Read(ref _workers).Length;

    /// <summary>
    /// Runs <paramref name="body"/>(i) for every i in [0, <paramref name="threads"/>): index 0 on the calling thread,
    /// the others on workers; returns when all have finished. Runs inline when <paramref name="threads"/> is 1 or the
    /// pool is busy.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="threads"/> is less than 1.</exception>
    public void Run(int threads, Action<int> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        if (threads == 1 || Interlocked.CompareExchange(ref _busy, 1, 0) != 0)
        {
            for (int i = 0; i < threads; i++) body(i);
            return;
        }
        try
        {
            RunOwned(threads, body);
        }
        finally
        {
            Volatile.Write(ref _busy, 0);
        }
    }

    /// <summary>
    /// Splits [0, <paramref name="count"/>) into <paramref name="chunks"/> contiguous ranges and runs
    /// <paramref name="body"/>(start, end) on each, chunk 0 on the caller (the backend of <see cref="Parallelism.For"/>).
    /// </summary>
    public void For(int count, int chunks, Action<int, int> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (chunks <= 1 || Interlocked.CompareExchange(ref _busy, 1, 0) != 0)
        {
            for (int i = 0; i < chunks; i++)
            {
                int start = (int)((long)count * i / chunks), end = (int)((long)count * (i + 1) / chunks);
                if (end > start) body(start, end);
            }
            return;
        }
        try
        {
            _forCount = count;
            _forChunks = chunks;
            _forBody = body;
            RunOwned(chunks, _forChunk);
        }
        finally
        {
            _forBody = null;
            Volatile.Write(ref _busy, 0);
        }
    }

    /// <summary>
    /// Runs <paramref name="body"/>(chunk, thread) for every chunk in [0, <paramref name="chunks"/>) on up to
    /// <paramref name="threads"/> threads (thread 0 is the caller). Chunks are claimed in increasing order by whichever
    /// thread is free, so a thread that is descheduled or slow to wake simply takes fewer chunks; a worker that has not
    /// started by the time every chunk is claimed is released without being waited for.
    /// </summary>
    /// <remarks>
    /// Which thread runs a chunk depends on timing; results stay deterministic when the body writes only per-chunk
    /// state (and reductions combine chunks in chunk order), never per-thread accumulators whose contents depend on the
    /// claim pattern. <paramref name="body"/>'s thread argument is in [0, threads) and is stable within one call, for
    /// per-thread scratch. Runs inline (every chunk on the caller, in order) when threads or chunks is 1 or the pool is busy.
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="threads"/> is less than 1 or <paramref name="chunks"/> is negative.</exception>
    public void RunDynamic(int threads, int chunks, Action<int, int> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(chunks);
        threads = Math.Min(threads, chunks);
        if (threads <= 1 || Interlocked.CompareExchange(ref _busy, 1, 0) != 0)
        {
            for (int c = 0; c < chunks; c++) body(c, 0);
            return;
        }
        try
        {
            _dynamicNext = 0;
            _dynamicChunks = chunks;
            _dynamicBody = body;
            RunOwned(threads, _dynamicLoop, releaseIdleWorkers: true);
        }
        finally
        {
            _dynamicBody = null;
            Volatile.Write(ref _busy, 0);
        }
    }

    private void RunDynamicLoop(int thread)
    {
        int chunk;
        while ((chunk = Interlocked.Increment(ref _dynamicNext) - 1) < _dynamicChunks) _dynamicBody!(chunk, thread);
    }

    private void RunForChunk(int i)
    {
        int start = (int)((long)_forCount * i / _forChunks), end = (int)((long)_forCount * (i + 1) / _forChunks);
        if (end > start) _forBody!(start, end);
    }

    // Precondition: this thread owns the pool (_busy == 1).
    private void RunOwned(int threads, Action<int> body, bool releaseIdleWorkers = false)
    {
        var workers = EnsureWorkers(threads - 1);
        _job = body;
        // Flow the caller's ExecutionContext (AsyncLocal state such as Isa.Use scopes) into the workers, as
        // Parallel.For does. Capture returns the current immutable context object (null for the default one): no allocation.
        _context = ExecutionContext.Capture();
        _error = null;
        Volatile.Write(ref _pending, threads - 1);
        for (int i = 0; i < threads - 1; i++) workers[i].Start();

        Exception? own = null;
        try
        {
            body(0);
        }
        catch (Exception e)
        {
            own = e;
        }
        // Dynamic regions: every chunk is claimed once the caller's loop ends, so a worker that has not picked up its
        // ticket yet (asleep, or not scheduled) would only find nothing to do; take its ticket back instead of waiting.
        if (releaseIdleWorkers)
        {
            for (int i = 0; i < threads - 1; i++)
                if (workers[i].TryRevoke()) Interlocked.Decrement(ref _pending);
        }
        WaitForWorkers();
        _job = null;
        _context = null;
        var error = own ?? _error;
        _error = null;
        if (error is not null) ExceptionDispatchInfo.Throw(error);
    }

    private void WaitForWorkers()
    {
        if (Volatile.Read(ref _pending) == 0) return;
        long deadline = Stopwatch.GetTimestamp() + s_spinTicks;
        int spins = 0;
        while (Volatile.Read(ref _pending) != 0 && KeepWaiting(ref deadline, ref spins)) { }
        if (Volatile.Read(ref _pending) == 0) return;
        Interlocked.Increment(ref _blocks);
        lock (_doneLock)
        {
            Interlocked.Exchange(ref _callerSleeping, 1);
            while (Volatile.Read(ref _pending) != 0) Monitor.Wait(_doneLock);
            Volatile.Write(ref _callerSleeping, 0);
        }
    }

    private void WorkerFinished()
    {
        if (Interlocked.Decrement(ref _pending) != 0) return;
        if (Volatile.Read(ref _callerSleeping) != 0)
        {
            lock (_doneLock) Monitor.PulseAll(_doneLock);
        }
    }

    private void RunJobInContext(int index, Worker worker)
    {
        var context = _context;
        if (context is null) RunJob(index);
        else ExecutionContext.Run(context, Worker.Callback, worker);
    }

    private void RunJob(int index)
    {
        try
        {
            _job!(index);
        }
        catch (Exception e)
        {
            Interlocked.CompareExchange(ref _error, e, null);
        }
        WorkerFinished();
    }

    private Worker[] EnsureWorkers(int needed)
    {
        var workers = Volatile.Read(ref _workers);
        if (workers.Length >= needed) return workers;
        lock (_growLock)
        {
            workers = _workers;
            if (workers.Length >= needed) return workers;
            var grown = new Worker[needed];
            Array.Copy(workers, grown, workers.Length);
            for (int i = workers.Length; i < needed; i++) grown[i] = new Worker(this, i + 1);
            Volatile.Write(ref _workers, grown);
            return grown;
        }
    }

    private sealed class Worker
    {
        public static readonly ContextCallback Callback = static state => ((Worker)state!).RunInside();

        private readonly WorkerPool _pool;
        private readonly int _index;
        private readonly object _lock = new();
        private int _sequence;
        private int _taken;
        private int _sleeping;

        public bool IsSleeping => Volatile.Read(ref _sleeping) != 0;

        public Worker(WorkerPool pool, int index)
        {
            _pool = pool;
            _index = index;
            var thread = new Thread(Loop, maxStackSize: 1 << 20) { IsBackground = true, Name = $"CnnSharp worker {index}" };
            thread.Start();
        }

        public void Start()
        {
            // Full fence between publishing the new sequence number and reading the sleep flag (pairs with Wait).
            Interlocked.Increment(ref _sequence);
            if (Volatile.Read(ref _sleeping) != 0)
            {
                lock (_lock) Monitor.Pulse(_lock);
            }
        }

        // Each Start publishes ticket _sequence; exactly one side takes it (Interlocked, from the previous ticket): the
        // worker, to run the job, or the caller (TryRevoke), to stop waiting for a worker that has not begun. Tickets
        // are taken in order because the caller publishes the next one only after the region's pending count reached 0.
        public bool TryRevoke()
        {
            int ticket = Volatile.Read(ref _sequence);
            return Interlocked.CompareExchange(ref _taken, ticket, ticket - 1) == ticket - 1;
        }

        private void Loop()
        {
            int seen = 0;
            while (true)
            {
                seen = Wait(seen);
                if (Interlocked.CompareExchange(ref _taken, seen, seen - 1) == seen - 1) _pool.RunJobInContext(_index, this);
            }
        }

        private void RunInside() => _pool.RunJob(_index);

        private int Wait(int seen)
        {
            long deadline = Stopwatch.GetTimestamp() + s_spinTicks;
            int spins = 0;
            int current;
            while ((current = Volatile.Read(ref _sequence)) == seen && _pool.KeepWaiting(ref deadline, ref spins)) { }
            if (current != seen) return current;
            Interlocked.Increment(ref _pool._blocks);
            lock (_lock)
            {
                Interlocked.Exchange(ref _sleeping, 1);
                while ((current = Volatile.Read(ref _sequence)) == seen) Monitor.Wait(_lock);
                Volatile.Write(ref _sleeping, 0);
            }
            return current;
        }
    }
}
