namespace CnnSharp.Cli.Rendering;

/// <summary>An <see cref="IProgress{T}"/> that runs its handler immediately on the reporting thread (unlike <see cref="Progress{T}"/>, which posts).</summary>
internal sealed class SyncProgress<T>(Action<T> handler) : IProgress<T>
{
    public void Report(T value) => handler(value);
}
