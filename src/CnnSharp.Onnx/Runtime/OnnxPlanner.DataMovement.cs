using CnnSharp.Compile;
using CnnSharp.Onnx.Ops;

namespace CnnSharp.Onnx.Runtime;

// Compiled forms of Clip, Concat, Transpose, Slice and ReduceMean over (H, W): what MobileNet-v2 (Clip as ReLU6) and
// ShuffleNet-v2 (channel split by Slice, Concat, channel shuffle as Reshape-Transpose-Reshape, x.mean([2, 3])) need to
// run as compiled plans instead of on the ONNX runtime.
internal sealed partial class OnnxPlanner
{
    /// <summary>Maps a data-movement or clamp node (see the file comment); false when it has no compiled form here.</summary>
    private bool MapDataMovement(OnnxNode node, OnnxOp op, Slot?[] inputs, List<Shape> shapes, Func<OpSpec, int[], string, Shape, int> emit)
    {
        int x = inputs[0]!.Value.Value;
        var xShape = shapes[x];
        string output = node.Outputs[0];
        bool constantRest = inputs.Skip(1).All(s => s is null || s.Value.Constant is not null);
        switch (op)
        {
            // min > max is ONNX's "max everywhere", which ClampSpec's select order does not give: left to the island.
            case ClipOp clip when clip.TryFixedBounds(inputs.Length, k => (inputs[k] is not null, inputs[k]?.Constant), out float lo, out float hi)
                && lo <= hi:
                emit(new ClampSpec(lo, hi), [x], output, xShape);
                return true;
            case ConcatOp concat when inputs.Length >= 2 && inputs.All(s => s is { Value: >= 0 }):
            {
                int rank = xShape.Rank;
                if (concat.Axis < -rank || concat.Axis >= rank) return false;
                int axis = (int)(concat.Axis < 0 ? concat.Axis + rank : concat.Axis);
                var ids = inputs.Select(s => s!.Value.Value).ToArray();
                var dims = xShape.ToArray();
                dims[axis] = 0;
                foreach (int v in ids)
                {
                    var s = shapes[v];
                    if (s.Rank != rank || Enumerable.Range(0, rank).Any(d => d != axis && s[d] != xShape[d])) return false;
                    dims[axis] += s[axis];
                }
                emit(new ConcatSpec(axis), ids, output, new Shape(dims));
                return true;
            }
            case TransposeOp transpose when xShape.Rank > 0:
            {
                int rank = xShape.Rank;
                var perm = transpose.Perm ?? [.. Enumerable.Range(0, rank).Reverse()];
                if (perm.Length != rank) return false;
                var dims = xShape.ToArray();
                var source = Layout.Strides(dims);
                emit(new GatherCopySpec([.. perm.Select(p => dims[p])], [.. perm.Select(p => source[p])], 0), [x], output,
                    new Shape([.. perm.Select(p => dims[p])]));
                return true;
            }
            case SliceOp slice when constantRest:
            {
                var (dims, strides, offset) = slice.Window(xShape.ToArray(), [.. inputs.Select(s => s?.Constant)]);
                // Negative steps and empty results stay islands (the gather walks forward over a non-empty output).
                if (strides.Any(s => s < 0) || dims.Any(d => d == 0)) return false;
                emit(new GatherCopySpec(dims, strides, offset), [x], output, new Shape(dims));
                return true;
            }
            case ReduceOp reduce when reduce.IsSpatialMean(xShape.Rank) && xShape[2] > 0 && xShape[3] > 0:
            {
                var shape = Execute(op, node, Operands(inputs, shapes))[0]!.Shape;
                int pooled = emit(new AdaptiveAvgPool2dSpec(AdaptivePool2dGeometry.Create(xShape.ToArray(), (1, 1), node.DisplayName)), [x], output,
                    new Shape(xShape[0], xShape[1], 1, 1));
                if (shape.Length != 4) emit(new ReshapeSpec(), [pooled], output, new Shape(shape));
                return true;
            }
            default:
                return false;
        }
    }
}
