using CnnSharp.Kernels;
using CnnSharp.Onnx.Runtime;

namespace CnnSharp.Onnx.Ops;

/// <summary>
/// BatchNormalization over (N, C, D1, …): <c>y = (x − mean[c]) / sqrt(var[c] + epsilon) · scale[c] + B[c]</c> with the
/// running statistics (inference). In training mode (opset 14's <c>training_mode=1</c>; before opset 14, when more than
/// one output is requested, as ONNX Runtime decides) the batch's mean and biased variance normalise instead, and outputs
/// 1 and 2 are the updated running statistics <c>running · momentum + batch · (1 − momentum)</c>.
/// </summary>
/// <remarks>The saved-statistics outputs of opsets before 14 (outputs 3 and 4) and <c>spatial=0</c> are not supported.</remarks>
internal sealed class BatchNormOp : OnnxOp
{
    public BatchNormOp(OpBuilder b)
    {
        b.Inputs(5, 5);
        Epsilon = b.Float("epsilon", 1e-5f);
        Momentum = b.Float("momentum", 0.9f);
        if (b.Opset < 9 && !b.Flag("spatial", true))
            throw b.Unsupported("attribute 'spatial' = 0 (per-activation statistics) is not supported", "spatial");
        if (b.Opset < 7) b.Flag("is_test", false);
        if (b.Opset < 6) b.Ignore("consumed_inputs");
        if (b.Opset >= 14)
        {
            b.Outputs(3);
            IsTraining = b.Flag("training_mode", false);
            if (!IsTraining && (b.HasOutput(1) || b.HasOutput(2)))
                throw b.Invalid("outputs running_mean and running_var exist only in training mode (training_mode=1)");
        }
        else
        {
            b.Outputs(5);
            for (int k = 3; k < 5; k++)
                if (b.HasOutput(k)) throw b.Unsupported($"output #{k} (saved mean / saved variance of opset {b.Opset}) is not supported");
            IsTraining = b.HasOutput(1) || b.HasOutput(2);
        }
    }

    /// <summary>The epsilon added to the variance.</summary>
    public float Epsilon { get; }

    /// <summary>Weight of the old running statistics in training mode.</summary>
    public float Momentum { get; }

    /// <summary>Whether batch statistics are used (training mode).</summary>
    public bool IsTraining { get; }

    public override void Execute(OpContext ctx, ReadOnlySpan<OnnxValue?> inputs, Span<OnnxValue?> outputs)
    {
        var x = inputs[0]!;
        if (!x.IsFloat || x.Rank < 2) throw new ShapeException($"BatchNormalization: expected a floating-point (N, C, ...) input, got {x}");
        int n = x.Shape[0], c = x.Shape[1], s = Layout.Product(x.Shape, 2, x.Rank);
        var parameters = new float[4][];
        string[] names = ["scale", "B", "input_mean", "input_var"];
        for (int k = 0; k < 4; k++)
        {
            var p = inputs[k + 1]!;
            if (!p.IsFloat || p.Count != c)
                throw new ShapeException($"BatchNormalization: {names[k]} has shape {Shape.Format(p.Shape)} but the input {Shape.Format(x.Shape)} has {c} channels");
            parameters[k] = p.Floats;
        }
        var y = ctx.Floats((int[])x.Shape.Clone());
        float[] mean = parameters[2], variance = parameters[3];
        if (IsTraining)
        {
            if (n * s == 0) throw new ShapeException($"BatchNormalization: training mode needs a non-empty batch, got {Shape.Format(x.Shape)}");
            var batchMean = new double[c];
            var batchVar = new double[c];
            BatchNormKernels.Statistics(x.Floats, batchMean, batchVar, n, c, s);
            mean = batchMean.Select(v => (float)v).ToArray();
            variance = batchVar.Select(v => (float)v).ToArray();
            for (int k = 1; k <= 2; k++)
            {
                if (!ctx.IsRequested(k)) continue;
                var running = ctx.Floats([c]);
                float[] old = parameters[k + 1];
                double[] batch = k == 1 ? batchMean : batchVar;
                for (int ch = 0; ch < c; ch++) running.Floats[ch] = (float)(old[ch] * Momentum + batch[ch] * (1 - Momentum));
                outputs[k] = running;
            }
        }
        var invStd = new float[c];
        for (int ch = 0; ch < c; ch++) invStd[ch] = BatchNormKernels.InvStd(variance[ch], Epsilon);
        BatchNormKernels.Normalize(x.Floats, mean, invStd, parameters[0], parameters[1], y.Floats, n, c, s);
        outputs[0] = y;
    }
}

/// <summary>
/// InstanceNormalization over (N, C, D1, …): each (n, c) plane normalised by its own mean and biased variance,
/// <c>y = (x − mean[n,c]) / sqrt(var[n,c] + epsilon) · scale[c] + B[c]</c>.
/// </summary>
internal sealed class InstanceNormOp : OnnxOp
{
    private readonly float _epsilon;

    public InstanceNormOp(OpBuilder b)
    {
        b.Inputs(3, 3);
        b.Outputs(1);
        _epsilon = b.Float("epsilon", 1e-5f);
        if (b.Opset < 6) b.Ignore("consumed_inputs");
    }

    public override void Execute(OpContext ctx, ReadOnlySpan<OnnxValue?> inputs, Span<OnnxValue?> outputs)
    {
        var x = inputs[0]!;
        var scale = inputs[1]!;
        var bias = inputs[2]!;
        if (!x.IsFloat || x.Rank < 3) throw new ShapeException($"InstanceNormalization: expected a floating-point (N, C, D1, ...) input, got {x}");
        int n = x.Shape[0], c = x.Shape[1], s = Layout.Product(x.Shape, 2, x.Rank);
        if (scale.Count != c || bias.Count != c || !scale.IsFloat || !bias.IsFloat)
            throw new ShapeException($"InstanceNormalization: scale {scale} and B {bias} must have the input's {c} channels ({Shape.Format(x.Shape)})");
        // Each (n, c) plane is a "channel" of a batch of one for the batch-norm kernels.
        int planes = n * c;
        var mean = new double[planes];
        var variance = new double[planes];
        var y = ctx.Floats((int[])x.Shape.Clone());
        if (s > 0) BatchNormKernels.Statistics(x.Floats, mean, variance, 1, planes, s);
        var meanF = new float[planes];
        var invStd = new float[planes];
        var weight = new float[planes];
        var shift = new float[planes];
        for (int p = 0; p < planes; p++)
        {
            meanF[p] = (float)mean[p];
            invStd[p] = BatchNormKernels.InvStd(variance[p], _epsilon);
            weight[p] = scale.Floats[p % c];
            shift[p] = bias.Floats[p % c];
        }
        BatchNormKernels.Normalize(x.Floats, meanF, invStd, weight, shift, y.Floats, 1, planes, s);
        outputs[0] = y;
    }
}

/// <summary>
/// LRN (local response normalisation across channels):
/// <c>y[n,c,…] = x[n,c,…] / (bias + alpha/size · Σ_{c' = c − ⌊(size−1)/2⌋}^{c + ⌈(size−1)/2⌉} x[n,c',…]²)^beta</c>.
/// </summary>
internal sealed class LrnOp : OnnxOp
{
    private readonly float _alpha, _beta, _bias;
    private readonly int _size;

    public LrnOp(OpBuilder b)
    {
        b.Inputs(1, 1);
        b.Outputs(1);
        _alpha = b.Float("alpha", 1e-4f);
        _beta = b.Float("beta", 0.75f);
        _bias = b.Float("bias", 1f);
        long size = b.RequiredInt("size");
        if (size < 1 || size > int.MaxValue) throw b.Invalid($"attribute 'size' = {size} must be positive");
        _size = (int)size;
    }

    public override void Execute(OpContext ctx, ReadOnlySpan<OnnxValue?> inputs, Span<OnnxValue?> outputs)
    {
        var x = inputs[0]!;
        if (!x.IsFloat || x.Rank < 3) throw new ShapeException($"LRN: expected a floating-point (N, C, D1, ...) input, got {x}");
        int n = x.Shape[0], c = x.Shape[1], s = Layout.Product(x.Shape, 2, x.Rank);
        int before = (_size - 1) / 2, after = _size - 1 - before;
        var y = ctx.Floats((int[])x.Shape.Clone());
        float[] xs = x.Floats, ys = y.Floats;
        double scale = (double)_alpha / _size;
        for (int b = 0; b < n; b++)
        {
            for (int ch = 0; ch < c; ch++)
            {
                int lo = Math.Max(0, ch - before), hi = Math.Min(c - 1, ch + after);
                int plane = (b * c + ch) * s;
                for (int i = 0; i < s; i++)
                {
                    double sum = 0;
                    for (int k = lo; k <= hi; k++)
                    {
                        double v = xs[(b * c + k) * s + i];
                        sum += v * v;
                    }
                    ys[plane + i] = (float)(xs[plane + i] / Math.Pow(_bias + scale * sum, _beta));
                }
            }
        }
        outputs[0] = y;
    }
}
