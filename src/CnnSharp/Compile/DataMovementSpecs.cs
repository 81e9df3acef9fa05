namespace CnnSharp.Compile;

// Compiled forms of element-wise clamps and of ops that only move data (channel concat, slices, transposes such as the
// channel shuffle). Imported ONNX graphs produce them (Onnx.OnnxPlanner); traced modules produce ClampSpec through
// ReLU6 (PlanBuilder rewrites Relu6Spec islands).

/// <summary>
/// <c>y = x &lt; Min ? Min : x &gt; Max ? Max : x</c> element-wise (NaN passes through); ReLU6 is (0, 6), ONNX Clip with
/// load-time bounds is (min, max) with Min ≤ Max. Backward passes dy where <c>Min &lt; y &lt; Max</c> (or y is NaN).
/// </summary>
internal sealed record ClampSpec(float Min, float Max) : OpSpec;

/// <summary>The node's inputs (two or more values of one rank, equal outside <paramref name="Axis"/>) joined along
/// <paramref name="Axis"/> (non-negative).</summary>
internal sealed record ConcatSpec(int Axis) : OpSpec;

/// <summary>
/// A strided gather from the input's flat storage into a dense output of <paramref name="Shape"/>:
/// <c>y[i_0, …, i_r-1] = x[Offset + Σ_d i_d·Strides[d]]</c>, with every stride non-negative and distinct index tuples
/// reading distinct elements (a transpose, a slice with positive steps, or both). The channel shuffle's
/// Reshape-Transpose-Reshape is one such copy (the reshapes alias).
/// </summary>
internal sealed record GatherCopySpec(int[] Shape, long[] Strides, long Offset) : OpSpec;
