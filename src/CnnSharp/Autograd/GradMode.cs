namespace CnnSharp.Autograd;

/// <summary>
/// Whether operations are recorded for autograd on the current thread (PyTorch's <c>torch.no_grad()</c> / <c>enable_grad()</c>).
/// </summary>
public static class GradMode
{
    [ThreadStatic] private static bool t_disabled;

    /// <summary>True when ops record their backward nodes on this thread (the default).</summary>
    public static bool IsEnabled => !t_disabled;

    /// <summary>Disables recording until the returned scope is disposed; the previous mode is then restored.</summary>
    /// <example><code>using (GradMode.NoGrad()) { var logits = model.Forward(x); }</code></example>
    public static Scope NoGrad() => new(enabled: false);

    /// <summary>Enables recording until the returned scope is disposed; the previous mode is then restored.</summary>
    public static Scope EnableGrad() => new(enabled: true);

    /// <summary>A grad-mode scope; disposing it restores the mode that was active when it was created.</summary>
    public readonly struct Scope : IDisposable
    {
        private readonly bool _previousDisabled;

        internal Scope(bool enabled)
        {
            _previousDisabled = t_disabled;
            t_disabled = !enabled;
        }

        /// <summary>Restores the previous grad mode.</summary>
        public void Dispose() => t_disabled = _previousDisabled;
    }
}
