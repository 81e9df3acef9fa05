using CnnSharp.Kernels;

namespace CnnSharp;

/// <summary>
/// How the kernels run: how many threads they may use and the widest SIMD level they may pick. One process default
/// (<see cref="Default"/>), and scoped overrides for one logical call flow (<see cref="Use"/>), so a library or a test can
/// change the settings for its own work without touching anyone else's.
/// </summary>
/// <example>
/// <code>
/// ExecutionOptions.Default = new ExecutionOptions { Threads = 4 };          // the whole process
/// using (ExecutionOptions.Use(new ExecutionOptions { Threads = 1 }))       // only this flow (and tasks it starts)
///     logits = model.Forward(x);
/// </code>
/// </example>
public sealed record ExecutionOptions
{
    private static ExecutionOptions s_default = new();
    private static readonly AsyncLocal<ExecutionOptions?> s_scoped = new();
    private readonly int _threads = Environment.ProcessorCount;

    /// <summary>Maximum number of threads a kernel may use, at least 1 (default: the processor count).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is less than 1.</exception>
    public int Threads
    {
        get => _threads;
        init
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1, nameof(Threads));
            _threads = value;
        }
    }

    /// <summary>
    /// The widest SIMD level the kernels may use (default <see cref="SimdLevel.V512"/>); the level used is the lower of this
    /// and what the CPU accelerates. Lower it to run a fallback path (e.g. to compare results across paths).
    /// </summary>
    public SimdLevel MaxSimd { get; init; } = SimdLevel.V512;

    /// <summary>The process-wide settings, used wherever no <see cref="Use"/> scope is active.</summary>
    /// <exception cref="ArgumentNullException">The value is null.</exception>
    public static ExecutionOptions Default
    {
        get => s_default;
        set => s_default = value ?? throw new ArgumentNullException(nameof(value));
    }

    /// <summary>The settings in effect on this call flow: the innermost <see cref="Use"/> scope's, else <see cref="Default"/>.</summary>
    public static ExecutionOptions Current => s_scoped.Value ?? s_default;

    /// <summary>The SIMD level the CPU accelerates in this process (before <see cref="MaxSimd"/> caps it).</summary>
    public static SimdLevel DetectedSimd => (SimdLevel)Isa.Detected;

    /// <summary>
    /// Applies <paramref name="options"/> to this logical call flow (and tasks started from it) until the returned scope is
    /// disposed; other threads keep their settings. Scopes nest.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is null.</exception>
    public static Scope Use(ExecutionOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var previous = s_scoped.Value;
        s_scoped.Value = options;
        return new Scope(previous, active: true);
    }

    /// <summary>Restores the settings that were in effect before <see cref="Use"/> when disposed (<c>default(Scope)</c> does
    /// nothing, so <c>using var s = condition ? ExecutionOptions.Use(o) : default;</c> is safe).</summary>
    public readonly struct Scope : IDisposable, IEquatable<Scope>
    {
        private readonly ExecutionOptions? _previous;
        private readonly bool _active;

        internal Scope(ExecutionOptions? previous, bool active)
        {
            _previous = previous;
            _active = active;
        }

        /// <summary>Restores the previous settings.</summary>
        public void Dispose()
        {
            if (_active) s_scoped.Value = _previous;
        }

        /// <inheritdoc/>
        public bool Equals(Scope other) => ReferenceEquals(_previous, other._previous) && _active == other._active;

        /// <inheritdoc/>
        public override bool Equals(object? obj) => obj is Scope other && Equals(other);

        /// <inheritdoc/>
        public override int GetHashCode() => _previous?.GetHashCode() ?? 0;

        /// <summary>Whether two scopes restore the same settings.</summary>
        public static bool operator ==(Scope left, Scope right) => left.Equals(right);

        /// <summary>Whether two scopes restore different settings.</summary>
        public static bool operator !=(Scope left, Scope right) => !left.Equals(right);
    }
}

/// <summary>The SIMD code paths the kernels implement, from portable scalar loops to 512-bit vectors.</summary>
public enum SimdLevel
{
    /// <summary>Plain scalar C#: runs everywhere.</summary>
    Scalar = 0,

    /// <summary>128-bit vectors (4 floats): SSE, NEON.</summary>
    V128 = 1,

    /// <summary>256-bit vectors (8 floats) with fused multiply-add: x64 AVX2+FMA.</summary>
    V256 = 2,

    /// <summary>512-bit vectors (16 floats) with fused multiply-add: x64 AVX-512F.</summary>
    V512 = 3,
}
