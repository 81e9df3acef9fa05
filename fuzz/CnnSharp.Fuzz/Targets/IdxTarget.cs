using CnnSharp.Data;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Fuzz.Targets;

/// <summary>IDX (MNIST): <see cref="IdxReader.Read(Stream, string, int?)"/> on a seekable and on a forward-only stream.</summary>
internal sealed class IdxTarget : FuzzTarget
{
    public override string Name => "idx";

    public override string Execute(byte[] input)
    {
        var array = IdxReader.Read(new MemoryStream(input, writable: false), "fuzz.idx");
        // A forward-only stream takes the chunked path, which must agree.
        var streamed = IdxReader.Read(new NonSeekableStream(input, chunk: 4096), "fuzz.idx");
        if (!streamed.Data.AsSpan().SequenceEqual(array.Data))
            throw new InvalidOperationException("seekable and forward-only reads disagree");
        return $"rank {array.Shape.Rank}, {(array.Data.Length == 0 ? "empty" : "data")}";
    }

    public override bool IsExpected(Exception error) => error is IdxFormatException;

    // The rank byte's dimensions, big-endian 32-bit each after the 4-byte magic.
    public override IEnumerable<LengthField> LengthFields(byte[] input)
    {
        int rank = input.Length > 3 ? Math.Min((int)input[3], 8) : 0;
        return Enumerable.Range(0, rank).Select(i => new LengthField(4 + 4 * i, 4, BigEndian: true));
    }
}
