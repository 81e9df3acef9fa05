using CnnSharp.Kernels;
using CnnSharp.Kernels.Direct;

namespace CnnSharp.Compile.Ops;

/// <summary>
/// A downsampling residual block's projection shortcut as a conv chain computes it: a 1x1 convolution of stride s, no
/// padding, then optionally a batch norm (<paramref name="Norm"/>: running statistics, or batch statistics in training plans), reading the same
/// input as the chain's strided stage (<c>PlanBuilder</c>'s projection pass; <see cref="ProjectionShortcut"/> plans it in
/// inference plans, <c>ConvChainOp.TrainProjection.cs</c> with a training-mode batch norm in training plans).
/// </summary>
internal sealed record ChainProjection(Conv2dSpec Conv, BatchNormSpec? Norm)
{
    /// <summary>The weights and statistics never change after planning (both specs frozen): packed once.</summary>
    public bool Frozen => Conv.Frozen && (Norm is null || (Norm.Frozen && !Norm.Training));

    /// <summary>The op name's part, e.g. <c>+Projection(16->32 1x1 stride 2+BatchNorm(running stats))</c>.</summary>
    public string Name => $"+Projection({Conv.Geometry.C}->{Conv.Geometry.K} 1x1 stride {Conv.Geometry.StrideH}{(Norm is null ? "" : Norm.Training ? "+BatchNorm" : "+BatchNorm(running stats)")})";
}

/// <summary>
/// The planned state of a <see cref="ChainProjection"/> inside a <see cref="ConvChainOp"/>: the 1x1 stride-s conv run as a
/// stride-1 1x1 conv over one phase of the strided stage's phase image (<see cref="StridedConv2d"/>), with the batch norm
/// folded into its weight and bias (as <see cref="Conv2dOp"/> folds it).
/// </summary>
/// <remarks>
/// <para>Why it reads the phase image: the strided stage's input pixel (s·i, s·j) is padded pixel (s·i + p, s·j + p), i.e.
/// pixel (i + p div s, j + p div s) of phase (p mod s, p mod s). So the shortcut needs no input of its own: the chain
/// already holds every pixel it reads, blocked, and the downsampling block's input never goes back to NCHW.</para>
/// <para>The conv runs over the whole phase plane (H' x W' = (Ho + k' − 1)², one row and column more than the output for a
/// 3x3 stage: the phase plane is the 1x1 plan's input without any copy), and <see cref="AddTo"/> reads the Ho x Wo window at
/// offset p div s. One image at a time, per thread: every output element is the same sum in the same order for any thread
/// count or split.</para>
/// </remarks>
internal sealed unsafe class ProjectionShortcut
{
    /// <summary>Plans <paramref name="spec"/> over the phase image of <paramref name="phases"/>.</summary>
    /// <exception cref="InvalidOperationException">The projection does not read the strided stage's input at stride s with
    /// an output of the stage's size, or its phase is not in the phase image.</exception>
    public ProjectionShortcut(ChainProjection spec, StridedConv2d phases, IsaLevel level)
    {
        var g = spec.Conv.Geometry;
        int s = phases.Stride, p = phases.Padding;
        Offset = p / s;
        // (A plan never builds a misfit: PlanBuilder.Projects checks the same; this guards direct construction.)
        if (g.KH != 1 || g.KW != 1 || g.Groups != 1 || g.StrideH != s || g.StrideW != s || g.PadTop != 0 || g.PadLeft != 0
            || g.C != phases.InChannels || g.C % 16 != 0 || g.K % 16 != 0 || g.H != phases.Height || g.W != phases.Width
            || g.OutH != phases.OutHeight || g.OutW != phases.OutWidth || p % s >= phases.PhaseSide
            || Offset + g.OutH > phases.PhaseHeight || Offset + g.OutW > phases.PhaseWidth || spec.Norm is { Training: true })
            throw new InvalidOperationException($"ConvChainOp: projection {g.C}->{g.K} {g.KH}x{g.KW} stride {g.StrideH} does not fit the strided stage's phase image");
        Spec = spec;
        PhaseBlock = (p % s * phases.PhaseSide + p % s) * (phases.InChannels / 16);
        Plan = new DirectConv2d(g.C, g.K, 1, 0, phases.PhaseHeight, phases.PhaseWidth, level);
        Packed = new AlignedBuffer(Plan.WeightLength);
        Bias = new AlignedBuffer(g.K);
        _folded = new float[Plan.WeightLength];
        (OutH, OutW, Blocks) = (g.OutH, g.OutW, g.K / 16);
    }

    private readonly float[] _folded;

    /// <summary>The projection's specification.</summary>
    public ChainProjection Spec { get; }

    /// <summary>The stride-1 1x1 conv over one phase plane set (H' x W').</summary>
    public DirectConv2d Plan { get; }

    /// <summary>The first 16-channel block of the phase image that the conv reads (phase (p mod s, p mod s)).</summary>
    public int PhaseBlock { get; }

    /// <summary>Row and column of the phase plane where output pixel (0, 0) is (p div s).</summary>
    public int Offset { get; }

    /// <summary>Output height (the strided stage's).</summary>
    public int OutH { get; }

    /// <summary>Output width.</summary>
    public int OutW { get; }

    /// <summary>Output channel blocks (K/16).</summary>
    public int Blocks { get; }

    /// <summary>The packed (folded) weight.</summary>
    public AlignedBuffer Packed { get; }

    /// <summary>The folded bias (K floats).</summary>
    public AlignedBuffer Bias { get; }

    /// <summary>Floats of one image of the conv's output (K x H' x W', blocked).</summary>
    public int OutputImage => Plan.OutChannels * Plan.OutHeight * Plan.OutWidth;

    /// <summary>Folds the batch norm's current statistics into the weight and bias and packs them (every forward unless frozen).</summary>
    public void Pack()
    {
        var conv = Spec.Conv;
        ReadOnlySpan<float> bias = conv.Bias is null ? default : conv.Bias.Data;
        if (Spec.Norm is { } bn) Conv2dOp.Fold(bn, conv.Weight.Data, bias, _folded, Bias.Span);
        else
        {
            conv.Weight.Data.CopyTo(_folded);
            if (bias.IsEmpty) Bias.Span.Clear();
            else bias.CopyTo(Bias.Span);
        }
        Plan.PackWeightsPart(_folded, transposeAndFlip: false, Packed.Pointer, 0, 1);
    }

    /// <summary>The conv of one image: <paramref name="phaseImage"/> is the strided stage's phase image, <paramref name="y"/>
    /// receives <see cref="OutputImage"/> floats (blocked, H' x W').</summary>
    public void ForwardImage(float* phaseImage, float* y) =>
        Plan.ForwardImage(phaseImage + (long)PhaseBlock * Plan.InputPlane, Packed.Pointer, Bias.Pointer, y, Plan.OutputPlane, Plan.OutWidth * 16,
            null, null, relu: false);

    /// <summary>Adds the Ho x Wo window of <paramref name="y"/> (<see cref="ForwardImage"/>'s output) into the blocked image at
    /// <paramref name="dst"/> (plane and row strides given), channel blocks [<paramref name="b0"/>, <paramref name="b1"/>).</summary>
    public void AddTo(float* y, float* dst, nint dstPlane, nint dstRow, int b0, int b1)
    {
        int row = OutW * 16;
        for (int b = b0; b < b1; b++)
            for (int i = 0; i < OutH; i++)
            {
                var d = new Span<float>(dst + b * dstPlane + i * dstRow, row);
                var s = new ReadOnlySpan<float>(y + (long)b * Plan.OutputPlane + ((long)(i + Offset) * Plan.OutWidth + Offset) * 16, row);
                System.Numerics.Tensors.TensorPrimitives.Add(d, s, d);
            }
    }
}
