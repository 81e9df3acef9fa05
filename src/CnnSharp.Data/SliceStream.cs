namespace CnnSharp.Data;

/// <summary>
/// A read-only, forward-only view of <c>Length</c> bytes of a seekable stream starting at an offset, e.g. one member of
/// an <c>ar</c> archive. The underlying stream is shared (repositioned before every read) and not disposed.
/// </summary>
internal sealed class SliceStream : Stream
{
    private readonly Stream _inner;
    private readonly long _offset, _length;
    private long _position;

    public SliceStream(Stream inner, long offset, long length)
    {
        ArgumentNullException.ThrowIfNull(inner);
        if (!inner.CanSeek) throw new ArgumentException("the underlying stream must be seekable", nameof(inner));
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        _inner = inner;
        _offset = offset;
        _length = length;
    }

    /// <summary>Offset of this slice's first byte in the underlying stream.</summary>
    public long Offset => _offset;

    /// <summary>Offset in the underlying stream of the next byte to be read.</summary>
    public long AbsolutePosition => _offset + _position;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => _length;

    public override long Position
    {
        get => _position;
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        long left = _length - _position;
        if (left <= 0 || buffer.IsEmpty) return 0;
        if (buffer.Length > left) buffer = buffer[..(int)left];
        _inner.Position = _offset + _position;
        int n = _inner.Read(buffer);
        if (n == 0)
            throw new EndOfStreamException($"the stream ended at offset {_offset + _position}, inside a member that should end at {_offset + _length}");
        _position += n;
        return n;
    }

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
