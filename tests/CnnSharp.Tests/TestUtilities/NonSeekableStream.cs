namespace CnnSharp.Tests.TestUtilities;

/// <summary>
/// A read-only stream over <paramref name="data"/> that cannot seek (no length either) and returns at most
/// <paramref name="chunk"/> bytes per read, as a pipe or a network stream may: readers must take their forward-only path.
/// </summary>
internal sealed class NonSeekableStream(byte[] data, int chunk = 7) : Stream
{
    private int _position;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override int Read(byte[] buffer, int offset, int count)
    {
        int n = Math.Min(Math.Min(count, chunk), data.Length - _position);
        Array.Copy(data, _position, buffer, offset, n);
        _position += n;
        return n;
    }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
