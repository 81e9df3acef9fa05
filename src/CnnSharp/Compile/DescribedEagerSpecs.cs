using CnnSharp.Functional;

namespace CnnSharp.Compile;

// Eager islands that also say what they compute. A plan runs each exactly like a plain EagerSpec (its Replay); the
// parameters are for translators of the traced graph (OnnxExporter), which cannot look inside a replay closure. The
// parameters are the ones the op was called with (dims may be negative, bounds unclamped): a translator normalises them
// against the traced shapes. Inputs are the recorded node's, in order.

/// <summary><c>F.Relu6</c>: <c>min(max(x, 0), 6)</c>.</summary>
internal sealed record Relu6Spec(Func<Tensor[], Tensor> Replay) : EagerSpec(Replay);

/// <summary><c>F.LeakyRelu</c> with its negative slope.</summary>
internal sealed record LeakyReluSpec(float NegativeSlope, Func<Tensor[], Tensor> Replay) : EagerSpec(Replay);

/// <summary><c>F.Softmax</c> (<paramref name="Log"/> false) or <c>F.LogSoftmax</c> along <paramref name="Dim"/>.</summary>
internal sealed record SoftmaxSpec(int Dim, bool Log, Func<Tensor[], Tensor> Replay) : EagerSpec(Replay);

/// <summary>A broadcasting binary op; <paramref name="Op"/> is <c>Add</c>, <c>Sub</c>, <c>Mul</c> or <c>Div</c>.</summary>
internal sealed record BinarySpec(string Op, Func<Tensor[], Tensor> Replay) : EagerSpec(Replay);

/// <summary><c>F.Affine</c>: <c>x * Scale + Shift</c>.</summary>
internal sealed record AffineSpec(float Scale, float Shift, Func<Tensor[], Tensor> Replay) : EagerSpec(Replay);

/// <summary>An element-wise unary op; <paramref name="Op"/> is <c>Exp</c> or <c>Log</c>.</summary>
internal sealed record UnarySpec(string Op, Func<Tensor[], Tensor> Replay) : EagerSpec(Replay);

/// <summary><c>F.Sum</c> / <c>F.Mean</c>: over every element to a scalar when <paramref name="Dim"/> is null, else along it.</summary>
internal sealed record ReduceSpec(int? Dim, bool KeepDim, bool Mean, Func<Tensor[], Tensor> Replay) : EagerSpec(Replay);

/// <summary><c>F.Cat</c> of the node's inputs along <paramref name="Dim"/>.</summary>
internal sealed record CatSpec(int Dim, Func<Tensor[], Tensor> Replay) : EagerSpec(Replay);

/// <summary><c>F.Stack</c> of the node's inputs along a new <paramref name="Dim"/>.</summary>
internal sealed record StackSpec(int Dim, Func<Tensor[], Tensor> Replay) : EagerSpec(Replay);

/// <summary><c>F.Slice</c> with Python's bounds (null: the whole dimension; negative: from the end; clamped).</summary>
internal sealed record SliceSpec(int Dim, int? Start, int? End, int Step, Func<Tensor[], Tensor> Replay) : EagerSpec(Replay);

/// <summary><c>F.Narrow</c>: <paramref name="Length"/> elements from <paramref name="Start"/> (negative: from the end).</summary>
internal sealed record NarrowSpec(int Dim, int Start, int Length, Func<Tensor[], Tensor> Replay) : EagerSpec(Replay);

/// <summary><c>F.Permute</c> with its dimension order.</summary>
internal sealed record PermuteSpec(int[] Dims, Func<Tensor[], Tensor> Replay) : EagerSpec(Replay);

/// <summary><c>F.Transpose</c> of two dimensions.</summary>
internal sealed record TransposeSpec(int Dim0, int Dim1, Func<Tensor[], Tensor> Replay) : EagerSpec(Replay);

/// <summary><c>F.Interpolate</c>: exactly one of <paramref name="Size"/> and <paramref name="ScaleFactor"/> is set.</summary>
internal sealed record InterpolateSpec((int H, int W)? Size, (double H, double W)? ScaleFactor, InterpolationMode Mode, bool AlignCorners,
    Func<Tensor[], Tensor> Replay) : EagerSpec(Replay);

/// <summary><c>F.ConvTranspose2d</c>; the node's inputs are the data, the weight and (when given) the bias.</summary>
internal sealed record ConvTranspose2dSpec((int H, int W) Stride, (int H, int W) Padding, (int H, int W) OutputPadding, (int H, int W) Dilation,
    int Groups, Func<Tensor[], Tensor> Replay) : EagerSpec(Replay);

/// <summary><c>F.LayerNorm</c>; the node's inputs are the data, then the weight and the bias when present.</summary>
internal sealed record LayerNormSpec(int[] NormalizedShape, bool HasWeight, bool HasBias, float Eps, Func<Tensor[], Tensor> Replay) : EagerSpec(Replay);

/// <summary><c>F.GroupNorm</c>; the node's inputs are the data, then the weight and the bias when present.</summary>
internal sealed record GroupNormSpec(int NumGroups, bool HasWeight, bool HasBias, float Eps, Func<Tensor[], Tensor> Replay) : EagerSpec(Replay);

/// <summary><c>F.AdaptiveMaxPool2d</c> to <paramref name="OutputSize"/>.</summary>
internal sealed record AdaptiveMaxPool2dSpec((int H, int W) OutputSize, Func<Tensor[], Tensor> Replay) : EagerSpec(Replay);
