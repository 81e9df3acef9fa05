namespace CnnSharp.Modules;

/// <summary>
/// Sees every <see cref="Module.Call(Tensor)"/> on its thread while installed: the entry into a module and the output it
/// returned (PyTorch's forward pre-hook and forward hook, for the whole model at once).
/// </summary>
/// <remarks>
/// Thread-static, so a summary on one thread never sees another thread's model. One observer at a time per thread; the
/// cost when none is installed is one thread-static read per call.
/// </remarks>
internal abstract class ForwardObserver
{
    [ThreadStatic] private static ForwardObserver? t_current;

    /// <summary>The observer of this thread, or null.</summary>
    public static ForwardObserver? Current => t_current;

    /// <summary>Called before <paramref name="module"/>'s forward runs on <paramref name="inputs"/>.</summary>
    public abstract void Enter(Module module, ReadOnlySpan<Tensor> inputs);

    /// <summary>Called after <paramref name="module"/>'s forward returned <paramref name="output"/> (not when it threw).</summary>
    public abstract void Exit(Module module, Tensor output);

    /// <summary>Installs <paramref name="observer"/> on this thread; dispose the result to remove it.</summary>
    /// <exception cref="InvalidOperationException">Another observer is installed on this thread.</exception>
    public static Scope Install(ForwardObserver observer)
    {
        if (t_current is not null) throw new InvalidOperationException("a forward observer is already installed on this thread");
        t_current = observer;
        return new Scope();
    }

    /// <summary>Removes the installed observer.</summary>
    public readonly struct Scope : IDisposable
    {
        /// <summary>Removes the observer.</summary>
        public void Dispose() => t_current = null;
    }
}
