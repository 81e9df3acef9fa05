using System.Runtime.InteropServices;

namespace CnnSharp.Compile.Ops;

/// <summary>
/// A bitwise copy of the tensors an inference op packs its weights from (conv weights and biases, the batch norms'
/// parameters and running statistics), so that the op packs again only when one of them has changed since the last
/// packing: an eval loop over a test set packs once, not once per batch, while an optimiser step or
/// <c>LoadStateDict</c> between two forwards is still seen (the values are compared, not versions).
/// </summary>
/// <remarks>The comparison is of bits (<c>-0</c> and <c>+0</c>, and NaN payloads, differ), so a forward that skips the
/// packing runs on exactly the packed weights a packing would have written.</remarks>
internal sealed class PackSourceSnapshot
{
    private readonly Tensor[] _tensors;
    private readonly float[] _copy;
    private bool _taken;

    /// <summary>A snapshot of <paramref name="tensors"/> (nulls and repeats skipped); nothing is copied until <see cref="Take"/>.</summary>
    public PackSourceSnapshot(IEnumerable<Tensor?> tensors)
    {
        _tensors = [.. tensors.Where(t => t is not null).Cast<Tensor>().Distinct(ReferenceEqualityComparer.Instance).Cast<Tensor>()];
        _copy = new float[_tensors.Sum(t => t.Numel)];
    }

    /// <summary>Whether every tensor holds the bits it held at the last <see cref="Take"/> (false before the first).</summary>
    public bool Unchanged()
    {
        if (!_taken) return false;
        int offset = 0;
        foreach (var t in _tensors)
        {
            var data = t.Data;
            if (!MemoryMarshal.AsBytes(data).SequenceEqual(MemoryMarshal.AsBytes(_copy.AsSpan(offset, data.Length)))) return false;
            offset += data.Length;
        }
        return true;
    }

    /// <summary>Copies every tensor's current values (after the op has packed from them).</summary>
    public void Take()
    {
        int offset = 0;
        foreach (var t in _tensors)
        {
            t.Data.CopyTo(_copy.AsSpan(offset));
            offset += t.Numel;
        }
        _taken = true;
    }
}
