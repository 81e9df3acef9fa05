namespace CnnSharp.Compile;

/// <summary>The compiled form of a traced op: what the executor needs beyond the op's tensor inputs.</summary>
/// <remarks>Tensor references in a spec (weights, running statistics) are the model's own tensors, read at every step,
/// so optimiser updates and <c>LoadStateDict</c> are seen without recompiling.</remarks>
internal abstract record OpSpec;

/// <summary><c>F.Conv2d</c>: the data input is the op's first input.</summary>
internal sealed record Conv2dSpec(Tensor Weight, Tensor? Bias, Conv2dGeometry Geometry) : OpSpec
{
    /// <summary>The weight and bias never change after planning (an imported model's constants): the op packs them once,
    /// not per forward. With a folded batch norm, the fold is frozen only when that spec is frozen too.</summary>
    public bool Frozen { get; init; }
}

/// <summary><c>F.BatchNorm</c>; <paramref name="Momentum"/> is the traced update factor.</summary>
internal sealed record BatchNormSpec(Tensor? RunningMean, Tensor? RunningVar, Tensor? Weight, Tensor? Bias, bool Training, float Momentum, float Eps)
    : OpSpec
{
    /// <summary>The statistics and affine parameters never change after planning (see <see cref="Conv2dSpec.Frozen"/>).</summary>
    public bool Frozen { get; init; }
}

/// <summary>Element-wise activations.</summary>
internal enum ActivationKind { Relu, Tanh, Sigmoid }

/// <summary><c>F.Relu</c>, <c>F.Tanh</c>, <c>F.Sigmoid</c>.</summary>
internal sealed record ActivationSpec(ActivationKind Kind) : OpSpec;

/// <summary><c>F.MaxPool2d</c>.</summary>
internal sealed record MaxPool2dSpec(Pool2dGeometry Geometry) : OpSpec;

/// <summary><c>F.AvgPool2d</c>.</summary>
internal sealed record AvgPool2dSpec(Pool2dGeometry Geometry, bool CountIncludePad, int DivisorOverride) : OpSpec;

/// <summary><c>F.AdaptiveAvgPool2d</c>.</summary>
internal sealed record AdaptiveAvgPool2dSpec(AdaptivePool2dGeometry Geometry) : OpSpec;

/// <summary><c>F.Add</c> of two tensors of one shape (broadcasting adds are not described, so they fall back).</summary>
internal sealed record AddSpec : OpSpec;

/// <summary><c>Reshape</c>/<c>View</c>/<c>Flatten</c>: same elements, new shape (the executor aliases the buffer).</summary>
internal sealed record ReshapeSpec : OpSpec;

/// <summary><c>F.Linear</c>.</summary>
internal sealed record LinearSpec(Tensor Weight, Tensor? Bias) : OpSpec;

/// <summary>
/// An op without a compiled form that can run inside a plan as an eager island (a graph break): <paramref name="Replay"/>
/// recomputes it, with autograd, from its inputs in the recorded node's input order.
/// </summary>
/// <remarks>Not sealed: the described forms (<c>DescribedEagerSpecs.cs</c>) add the op's parameters for translators such
/// as the ONNX exporter, and run in a plan exactly like this one.</remarks>
internal record EagerSpec(Func<Tensor[], Tensor> Replay) : OpSpec;

/// <summary>
/// One stage of a <see cref="ConvChainSpec"/>: a direct-kernel convolution, then optionally batch norm, ReLU and 2x2/2
/// max pooling, in that order.
/// </summary>
internal sealed record ConvChainStage(Conv2dSpec Conv, BatchNormSpec? Norm, bool Relu, Pool2dGeometry? Pool);

/// <summary>
/// A fused chain of <see cref="ConvChainStage"/>s whose intermediate values have no other reader: the activations stay
/// channel-blocked between the stages (built by the plan's chain pass, never traced directly).
/// </summary>
internal sealed record ConvChainSpec(ConvChainStage[] Stages) : OpSpec;
