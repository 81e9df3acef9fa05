namespace CnnSharp.Fuzz;

/// <summary>
/// Runs inputs one at a time on a dedicated background thread and waits at most a timeout for each. A managed thread
/// cannot be stopped from outside, so after a timeout the thread is abandoned (it spins on until the process exits) and
/// the watchdog refuses further work: the caller records the hang and moves to the next target.
/// </summary>
internal sealed class Watchdog : IDisposable
{
    private readonly SemaphoreSlim _start = new(0);
    private readonly SemaphoreSlim _done = new(0);
    private Func<Outcome>? _work;
    private Outcome _result;
    private volatile bool _stopping;

    public Watchdog(string name)
    {
        // A large stack: a deep but finite recursion in a parser must not look like a crash of the harness.
        var thread = new Thread(Loop, maxStackSize: 64 << 20) { IsBackground = true, Name = $"fuzz {name}" };
        thread.Start();
    }

    /// <summary>True once an input ran past its timeout; the worker is then lost.</summary>
    public bool Abandoned { get; private set; }

    /// <summary>Runs <paramref name="work"/> on the worker; false when it did not finish within <paramref name="timeout"/>.</summary>
    public bool TryRun(Func<Outcome> work, TimeSpan timeout, out Outcome outcome)
    {
        if (Abandoned) throw new InvalidOperationException("the worker thread is stuck on an earlier input");
        _work = work;
        _start.Release();
        if (!_done.Wait(timeout))
        {
            Abandoned = true;
            outcome = default;
            return false;
        }
        outcome = _result;
        return true;
    }

    private void Loop()
    {
        while (true)
        {
            _start.Wait();
            if (_stopping)
            {
                // The owner no longer waits on either semaphore once it asked the worker to stop.
                _start.Dispose();
                _done.Dispose();
                return;
            }
            _result = _work!();
            _done.Release();
        }
    }

    /// <summary>Stops an idle worker; an abandoned one is left to the end of the process.</summary>
    public void Dispose()
    {
        if (Abandoned || _stopping) return;
        _stopping = true;
        _start.Release();
    }
}

/// <summary>What one input did: the target's description or the exception, with the bytes allocated and the time taken.</summary>
internal readonly record struct Outcome(string? Feature, Exception? Error, long AllocatedBytes, TimeSpan Elapsed);
