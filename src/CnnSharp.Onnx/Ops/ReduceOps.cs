using CnnSharp.Functional;
using CnnSharp.Onnx.Runtime;

namespace CnnSharp.Onnx.Ops;

/// <summary>The reductions.</summary>
internal enum ReduceKind
{
    Sum,
    Mean,
    Max,
    Min,
    Prod,
    SumSquare,
    L1,
    L2,
    LogSum,
    LogSumExp,
}

/// <summary>
/// Reduce* over <c>axes</c> (all axes when absent): Sum Σx, Mean Σx/n, Max, Min, Prod Πx, SumSquare Σx², L1 Σ|x|,
/// L2 sqrt(Σx²), LogSum ln Σx, LogSumExp ln Σeˣ (computed as max + ln Σe^(x−max)). Reduced dimensions stay as size 1
/// when <c>keepdims=1</c> (default) and are removed otherwise. Axes are an attribute, except for ReduceSum from opset 13,
/// where they are input 1 and <c>noop_with_empty_axes=1</c> makes empty axes an identity. Sums run in double.
/// </summary>
internal sealed class ReduceOp : OnnxOp
{
    private readonly ReduceKind _kind;
    private readonly string _name;
    private readonly long[]? _attributeAxes;
    private readonly bool _axesFromInput;
    private readonly bool _keepDims;
    private readonly bool _noopWithEmptyAxes;

    public ReduceOp(OpBuilder b, ReduceKind kind)
    {
        _kind = kind;
        _name = b.Node.OpType;
        b.Outputs(1);
        _keepDims = b.Flag("keepdims", true);
        if (kind == ReduceKind.Sum && b.Opset >= 13)
        {
            b.Inputs(1, 2);
            _axesFromInput = true;
            _noopWithEmptyAxes = b.Flag("noop_with_empty_axes", false);
        }
        else
        {
            b.Inputs(1, 1);
            _attributeAxes = b.Ints("axes");
        }
    }

    public override IReadOnlyList<int> ShapeInputs => [1];

    /// <summary>Whether this is a mean over exactly dimensions 2 and 3 of a rank-4 input (global average pooling written
    /// as <c>x.mean([2, 3])</c>, ShuffleNet-v2's head), which the compiled plan runs as one.</summary>
    internal bool IsSpatialMean(int rank) =>
        _kind == ReduceKind.Mean && rank == 4 && !_axesFromInput && _attributeAxes is { Length: 2 } axes
        && axes.Select(a => a < 0 ? a + rank : a).Order().SequenceEqual([2L, 3L]);

    public override void Execute(OpContext ctx, ReadOnlySpan<OnnxValue?> inputs, Span<OnnxValue?> outputs)
    {
        var x = inputs[0]!;
        long[]? axes = _axesFromInput ? (inputs.Length > 1 ? inputs[1]?.ToLongs($"{_name} axes") : null) : _attributeAxes;
        int rank = x.Rank;
        var reduced = new bool[rank];
        if (axes is null || axes.Length == 0)
        {
            if (_noopWithEmptyAxes)
            {
                outputs[0] = ctx.Copy(x);
                return;
            }
            Array.Fill(reduced, true);
        }
        else
        {
            foreach (long a in axes)
            {
                int axis = Layout.Axis(a, rank, _name);
                if (reduced[axis]) throw new ShapeException($"{_name}: axis {a} is repeated in [{string.Join(", ", axes)}]");
                reduced[axis] = true;
            }
        }

        var keptShape = x.Shape.Select((d, i) => reduced[i] ? 1 : d).ToArray();
        int[] outShape = _keepDims ? keptShape : x.Shape.Where((_, i) => !reduced[i]).ToArray();
        int outCount = OnnxValue.Numel(keptShape);
        int groupSize = Layout.Product(x.Shape.Where((_, i) => reduced[i]).ToArray(), 0, reduced.Count(r => r));
        if (x.IsFloat && _kind is ReduceKind.Sum or ReduceKind.Mean && TrailingGroup(reduced, x.Shape))
        {
            // Global pooling written as ReduceMean over the trailing axes (ShuffleNet's head): each output sums one
            // contiguous run, in input order as below, without the double copy of the input and the per-element delegate.
            var yf = ctx.Like(x, outShape);
            SumRuns(x.Floats, groupSize, yf.Floats, _kind == ReduceKind.Mean);
            outputs[0] = yf;
            return;
        }
        double[] values = x.IsFloat ? x.Floats.Select(v => (double)v).ToArray() : x.Longs.Select(v => (double)v).ToArray();

        double[] max = [];
        if (_kind == ReduceKind.LogSumExp)
        {
            max = new double[outCount];
            Array.Fill(max, double.NegativeInfinity);
            Accumulate(values, x.Shape, keptShape, max, (acc, v, _) => Math.Max(acc, v));
        }
        var acc = new double[outCount];
        Array.Fill(acc, _kind switch
        {
            ReduceKind.Max => double.NegativeInfinity,
            ReduceKind.Min => double.PositiveInfinity,
            ReduceKind.Prod => 1,
            _ => 0,
        });
        Func<double, double, int, double> combine = _kind switch
        {
            ReduceKind.Max => (a, v, _) => double.IsNaN(v) ? v : Math.Max(a, v),
            ReduceKind.Min => (a, v, _) => double.IsNaN(v) ? v : Math.Min(a, v),
            ReduceKind.Prod => (a, v, _) => a * v,
            ReduceKind.SumSquare or ReduceKind.L2 => (a, v, _) => a + v * v,
            ReduceKind.L1 => (a, v, _) => a + Math.Abs(v),
            ReduceKind.LogSumExp => (a, v, o) => a + (double.IsNegativeInfinity(max[o]) ? 0 : Math.Exp(v - max[o])),
            _ => (a, v, _) => a + v,
        };
        Accumulate(values, x.Shape, keptShape, acc, combine);

        var y = ctx.Like(x, outShape);
        for (int o = 0; o < outCount; o++)
        {
            double r = _kind switch
            {
                ReduceKind.Mean => acc[o] / groupSize,
                ReduceKind.L2 => Math.Sqrt(acc[o]),
                ReduceKind.LogSum => Math.Log(acc[o]),
                ReduceKind.LogSumExp => double.IsNegativeInfinity(max[o]) ? double.NegativeInfinity : max[o] + Math.Log(acc[o]),
                _ => acc[o],
            };
            if (y.IsFloat) y.Floats[o] = (float)r;
            else y.Longs[o] = (long)r;
        }
        outputs[0] = y;
    }

    /// <summary>Whether the reduced axes are exactly the last ones (after dropping size-1 axes), so each output is one contiguous run.</summary>
    private static bool TrailingGroup(bool[] reduced, int[] shape)
    {
        bool seenReduced = false;
        for (int d = 0; d < shape.Length; d++)
        {
            if (shape[d] == 1) continue;
            if (reduced[d]) seenReduced = true;
            else if (seenReduced) return false;
        }
        return true;
    }

    /// <summary><c>y[o] = Σ_i x[o·n + i]</c> (divided by n for a mean), summed in double in input order.</summary>
    private static void SumRuns(float[] x, int n, float[] y, bool mean)
    {
        for (int o = 0; o < y.Length; o++)
        {
            double sum = 0;
            var run = x.AsSpan(o * n, n);
            for (int i = 0; i < run.Length; i++) sum += run[i];
            y[o] = (float)(mean ? sum / n : sum);
        }
    }

    /// <summary><c>acc[out(i)] = combine(acc[out(i)], x[i], out(i))</c> over every input element i.</summary>
    /// <remarks>Rows of <see cref="BroadcastRows"/> (the input against the kept shape broadcast to it) visit the input in
    /// row-major order, so the accumulation order is the input's.</remarks>
    private static void Accumulate(double[] x, int[] shape, int[] keptShape, double[] acc, Func<double, double, int, double> combine)
    {
        var rows = new BroadcastRows(new Shape(shape), new Shape(keptShape), new Shape(shape));
        for (int r = 0; r < rows.Count; r++)
        {
            var row = rows.Row(r);
            for (int i = 0; i < row.Length; i++)
            {
                int o = row.OffsetB + (rows.BScalar ? 0 : i);
                acc[o] = combine(acc[o], x[row.Start + i], o);
            }
        }
    }
}
