namespace CnnSharp.Kernels.Direct;

/// <summary>
/// Conversions between PyTorch's channel-major image layout (C, H, W) and the direct kernels' blocked layouts:
/// unpadded [C/16][H][W][16] and padded [C/16][H+2p][W+2p][16] (an image of fewer than 16 channels pads planar, as
/// [C][H+2p][W+2p]).
/// </summary>
/// <remarks>The one implementation shared by the compiled executor's conv chains and the ONNX
/// direct-conv chains. Padded writes fill the interior only, so a buffer's zero border is set once.</remarks>
internal static unsafe class BlockedLayout
{
    /// <summary>[C/16][q][16] → [C][q] (q = H·W, PyTorch's flatten order), overwriting or adding into <paramref name="dst"/>.</summary>
    /// <remarks>Whole 16-channel blocks through <see cref="ChannelTranspose"/> (same bits on every path).</remarks>
    public static void ToChannelMajor(float* src, float* dst, int channels, int q, bool accumulate = false)
    {
        bool vector = ChannelTranspose.Vectorised;
        int full = channels / 16 * 16;
        for (int c = 0; c < full; c += 16)
            ChannelTranspose.FromBlocked(src + (long)c * q, dst + (long)c * q, q, 1, q, accumulate, vector);
        for (int c = full; c < channels; c++)
        {
            float* s = src + (long)c / 16 * q * 16 + c % 16;
            float* d = dst + (long)c * q;
            if (accumulate) for (int i = 0; i < q; i++) d[i] += s[i * 16];
            else for (int i = 0; i < q; i++) d[i] = s[i * 16];
        }
    }

    /// <summary>[C][q] → [C/16][q][16].</summary>
    public static void FromChannelMajor(float* src, float* dst, int channels, int q)
    {
        bool vector = ChannelTranspose.Vectorised;
        int full = channels / 16 * 16;
        for (int c = 0; c < full; c += 16)
            ChannelTranspose.ToBlocked(src + (long)c * q, q, 1, dst + (long)c * q, q, accumulate: false, vector);
        for (int c = full; c < channels; c++)
        {
            float* s = src + (long)c * q;
            float* d = dst + (long)c / 16 * q * 16 + c % 16;
            for (int i = 0; i < q; i++) d[i * 16] = s[i];
        }
    }

    /// <summary>
    /// Channels [<paramref name="firstChannel"/>, +<paramref name="channels"/>) of a (C, H, W) image → the interior of
    /// <paramref name="c"/>'s padded input (border zeros stay untouched).
    /// </summary>
    public static void ToPaddedInput(float* src, DirectConv2d c, float* x, int firstChannel, int channels)
    {
        int h = c.Height, w = c.Width, p = c.Padding;
        if (c.PixelStride == 1)
        {
            // Planar (fewer than 16 channels): channel ch is padded plane ch.
            for (int ch = firstChannel; ch < firstChannel + channels; ch++)
                for (int r = 0; r < h; r++)
                    new ReadOnlySpan<float>(src + ((long)ch * h + r) * w, w).CopyTo(new Span<float>(x + ch * c.InputPlane + (r + p) * c.PaddedWidth + p, w));
            return;
        }
        ToBlockedInterior(src, x + p * c.InputRow + p * 16, firstChannel, channels, h, w, c.InputPlane, c.InputRow);
    }

    /// <summary>
    /// Channels [<paramref name="firstChannel"/>, +<paramref name="channels"/>) of a (C, H, W) image → a blocked image
    /// whose pixel (0, 0) of block 0 is <paramref name="interior"/>, with the given plane and row strides (floats).
    /// </summary>
    public static void ToBlockedInterior(float* src, float* interior, int firstChannel, int channels, int h, int w, nint plane, nint row)
    {
        long planeIn = (long)h * w;
        int ch = firstChannel, end = firstChannel + channels;
        bool vector = ChannelTranspose.Vectorised;
        for (; ch < end; ch++)
        {
            if (ch % 16 == 0 && ch + 16 <= end)
            {
                // A whole block: its 16 channel rows at once.
                float* d0 = interior + ch / 16 * plane;
                for (int r = 0; r < h; r++)
                    ChannelTranspose.ToBlocked(src + ch * planeIn + (long)r * w, planeIn, 1, d0 + r * row, w, accumulate: false, vector);
                ch += 15;
                continue;
            }
            float* s = src + ch * planeIn;
            float* d = interior + ch / 16 * plane + ch % 16;
            for (int r = 0; r < h; r++)
            {
                float* sr = s + (long)r * w;
                float* dr = d + r * row;
                for (int col = 0; col < w; col++) dr[col * 16] = sr[col];
            }
        }
    }
}
