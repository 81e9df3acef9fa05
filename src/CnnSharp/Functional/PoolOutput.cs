using CnnSharp.Autograd;
using CnnSharp.Kernels;

namespace CnnSharp.Functional;

/// <summary>Output shapes of the pooling ops: (N, C, OutH, OutW) for a 4-D input, (C, OutH, OutW) for an unbatched 3-D input.</summary>
internal static class PoolOutput
{
    public static Shape Of(Tensor input, int n, int c, int outH, int outW) =>
        input.Rank == 3 ? new Shape(c, outH, outW) : new Shape(n, c, outH, outW);

    /// <summary>An argmax buffer: owned when the graph records it, otherwise rented and returned by the caller.</summary>
    public static int[] ArgmaxBuffer(int length, bool record) =>
        record ? new int[length] : System.Buffers.ArrayPool<int>.Shared.Rent(length);

    public static void Release(int[] buffer, bool record)
    {
        if (!record) System.Buffers.ArrayPool<int>.Shared.Return(buffer);
    }

    /// <summary>True when the op's output will record a backward node for <paramref name="input"/>.</summary>
    public static bool Records(Tensor input) => Autograd.GradMode.IsEnabled && input.RequiresGrad;
}

/// <summary>
/// Backward of the argmax poolings (max and adaptive max): routes each output gradient to the input element that was its
/// window's maximum, through plane-relative indices (<c>gradInput[p, argmax[p, o]] += gradOutput[p, o]</c>).
/// </summary>
internal sealed class ArgmaxPoolBackward(Tensor x, int[] argmax, int planes, int inPlane, int outPlane) : Node(x)
{
    protected internal override void Backward(Tensor gradOutput)
    {
        var gx = GradOf(x);
        if (!gx.IsEmpty) Pool2dKernels.ScatterArgmax(gradOutput.Data, argmax, gx, planes, inPlane, outPlane);
    }
}
