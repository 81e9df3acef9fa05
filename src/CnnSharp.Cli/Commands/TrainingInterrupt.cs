using System.Runtime.InteropServices;

namespace CnnSharp.Cli.Commands;

/// <summary>
/// Turns the first SIGINT (Ctrl+C) or SIGTERM into a cancellation the trainer sees between batches, so the run ends with
/// a word about the checkpoint it keeps; a second signal is left to the runtime's default (the process ends at once).
/// </summary>
/// <remarks>The handler only sets a flag and cancels a token: no I/O happens on the signal.</remarks>
internal sealed class TrainingInterrupt : IDisposable
{
    private readonly CancellationTokenSource _source = new();
    private readonly List<PosixSignalRegistration> _registrations = [];
    private int _signal;

    public TrainingInterrupt()
    {
        foreach (var signal in new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM })
        {
            try
            {
                _registrations.Add(PosixSignalRegistration.Create(signal, OnSignal));
            }
            catch (PlatformNotSupportedException)
            {
                // Without the handler the signal keeps its default effect; the checkpoint is still written atomically.
            }
        }
    }

    /// <summary>Cancelled by the first signal.</summary>
    public CancellationToken Token => _source.Token;

    /// <summary>The first signal received, or null.</summary>
    public PosixSignal? Signal => Volatile.Read(ref _signal) is 0 ? null : (PosixSignal)_signal;

    private void OnSignal(PosixSignalContext context)
    {
        // PosixSignal values are negative, so 0 means "none yet".
        if (Interlocked.CompareExchange(ref _signal, (int)context.Signal, 0) != 0) return; // second signal: default handling
        context.Cancel = true;
        _source.Cancel();
    }

    public void Dispose()
    {
        foreach (var registration in _registrations) registration.Dispose();
        _source.Dispose();
    }
}
