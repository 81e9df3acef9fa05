namespace CnnSharp.Data;

/// <summary>
/// The read-only stream <see cref="ImageLoader"/> hands to StbImageSharp: it refuses any seek backwards (other than a
/// few rewinds to the start, which stb_image does once per format probe) or past the end, and any read at the end
/// beyond a small allowance, by throwing <see cref="InvalidDataException"/>.
/// </summary>
/// <remarks>
/// A second wall behind <see cref="JpegStructure"/> and <see cref="PngStructure"/>: every loop in stb_image that
/// consumes input either moves this stream forward (at most <see cref="Stream.Length"/> times in all) or reads at its
/// end (at most <see cref="MaxReadsPastEnd"/> times), so no input can make it loop forever, whatever the validators
/// miss; its other loops are bounded by the image size, which the validators have checked.
/// </remarks>
internal sealed class GuardedImageStream(byte[] data) : Stream
{
    /// <summary>Reads at the end tolerated before the decode is stopped (a valid file needs none).</summary>
    public const int MaxReadsPastEnd = 1024;

    /// <summary>Rewinds to offset 0 tolerated (stb_image rewinds after probing each format it tries).</summary>
    public const int MaxRewinds = 8;

    private int _position, _readsPastEnd, _rewinds;

    public override bool CanRead => true;

    public override bool CanSeek => true;

    public override bool CanWrite => false;

    public override long Length => data.Length;

    public override long Position
    {
        get => _position;
        set => MoveTo(value);
    }

    public override int ReadByte()
    {
        if (_position < data.Length) return data[_position++];
        PastEnd();
        return -1;
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        int n = Math.Min(buffer.Length, data.Length - _position);
        if (n == 0 && buffer.Length > 0) PastEnd();
        data.AsSpan(_position, n).CopyTo(buffer);
        _position += n;
        return n;
    }

    public override long Seek(long offset, SeekOrigin origin)
    {
        long start = origin switch
        {
            SeekOrigin.Begin => 0,
            SeekOrigin.Current => _position,
            SeekOrigin.End => data.Length,
            _ => throw new ArgumentOutOfRangeException(nameof(origin)),
        };
        MoveTo(start + offset);
        return _position;
    }

    private void MoveTo(long target)
    {
        if (target == 0 && _position != 0)
        {
            if (++_rewinds > MaxRewinds) throw new InvalidDataException($"the decoder rewound to the start more than {MaxRewinds} times");
        }
        else if (target < _position)
        {
            throw new InvalidDataException($"the decoder tried to seek backwards from offset {_position} to {target}");
        }
        else if (target > data.Length)
        {
            throw new InvalidDataException($"the decoder tried to seek to offset {target}, past the end ({data.Length} bytes)");
        }
        _position = (int)target;
    }

    private void PastEnd()
    {
        if (++_readsPastEnd > MaxReadsPastEnd)
            throw new InvalidDataException($"the decoder read past the end of the data more than {MaxReadsPastEnd} times (truncated)");
    }

    public override void Flush()
    {
    }

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
