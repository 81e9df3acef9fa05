using CnnSharp.Autograd;
using CnnSharp.Kernels;
using CnnSharp.Compile;

namespace CnnSharp.Functional;

public static partial class F
{
    /// <summary>Batch normalisation over the channel dimension (PyTorch's <c>F.batch_norm</c>) for (N, C), (N, C, L) or (N, C, H, W) input.</summary>
    /// <remarks>
    /// <c>y[n, c, ...] = (x[n, c, ...] - mean[c]) / sqrt(var[c] + eps) * weight[c] + bias[c]</c>.
    /// In training mode mean and var are the batch statistics over the M = N*L (or N*H*W) values of each channel, var being
    /// the <em>biased</em> variance (divided by M); the running statistics, when given, are then updated in place:
    /// <c>running_mean = (1 - momentum)*running_mean + momentum*mean</c> and
    /// <c>running_var = (1 - momentum)*running_var + momentum*var*M/(M - 1)</c> (the <em>unbiased</em> variance, as PyTorch does).
    /// In eval mode mean and var are the running statistics and are not changed. The statistics are computed in double.
    /// The gradient flows to x, weight and bias; in training mode it includes the dependence of the batch statistics on x.
    /// </remarks>
    /// <param name="x">Shape (N, C), (N, C, L) or (N, C, H, W) (any rank &gt;= 2; dimension 1 is the channel).</param>
    /// <param name="runningMean">Shape (C); updated in training mode, used in eval mode; may be null in training mode.</param>
    /// <param name="runningVar">Shape (C); updated in training mode, used in eval mode; may be null in training mode.</param>
    /// <param name="weight">Shape (C) scale (gamma), or null for 1.</param>
    /// <param name="bias">Shape (C) shift (beta), or null for 0.</param>
    /// <param name="training">Use batch statistics and update the running ones (true) or use the running ones (false).</param>
    /// <param name="momentum">Weight of the new batch statistic in the running average.</param>
    /// <param name="eps">Added to the variance for numerical stability; non-negative.</param>
    /// <returns>Same shape as <paramref name="x"/>.</returns>
    /// <example><code>var y = F.BatchNorm(x, runningMean, runningVar, gamma, beta, training: true);</code></example>
    /// <exception cref="ShapeException">The input has rank below 2, a per-channel tensor does not have shape (C), or training
    /// is requested with at most one value per channel.</exception>
    /// <exception cref="ArgumentException">Eval mode without running statistics.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="eps"/> is negative or NaN.</exception>
    public static Tensor BatchNorm(Tensor x, Tensor? runningMean, Tensor? runningVar, Tensor? weight = null, Tensor? bias = null,
        bool training = false, float momentum = 0.1f, float eps = 1e-5f)
    {
        ArgumentNullException.ThrowIfNull(x);
        string Describe() =>
            $"input {x.Shape}, running_mean {runningMean?.Shape.ToString() ?? "none"}, running_var {runningVar?.Shape.ToString() ?? "none"}, " +
            $"weight {weight?.Shape.ToString() ?? "none"}, bias {bias?.Shape.ToString() ?? "none"}, training {training}";
        if (x.Rank < 2) throw new ShapeException($"BatchNorm: expected an input of rank 2 or more (N, C, ...) ({Describe()})");
        if (!(eps >= 0)) throw new ArgumentOutOfRangeException(nameof(eps), eps, $"BatchNorm: eps must be non-negative ({Describe()})");
        int n = x.Shape[0], c = x.Shape[1];
        int s = 1;
        for (int i = 2; i < x.Rank; i++) s *= x.Shape[i];
        foreach (var (t, name) in new[] { (runningMean, "running_mean"), (runningVar, "running_var"), (weight, "weight"), (bias, "bias") })
        {
            if (t is not null && !t.Shape.Equals([c]))
                throw new ShapeException($"BatchNorm: {name} has shape {t.Shape} but the input has {c} channels ({Describe()})");
        }
        long m = (long)n * s;
        if (training && m <= 1)
            throw new ShapeException($"BatchNorm: expected more than 1 value per channel when training, got {m} ({Describe()})");
        if (!training && (runningMean is null || runningVar is null))
            throw new ArgumentException($"BatchNorm: running_mean and running_var are required in eval mode ({Describe()})");

        var mean = new float[c];
        var invStd = new float[c];
        if (training)
        {
            var batchMean = new double[c];
            var batchVar = new double[c];
            BatchNormKernels.Statistics(x.Data, batchMean, batchVar, n, c, s);
            Span<float> rm = runningMean is null ? default : runningMean.Data, rv = runningVar is null ? default : runningVar.Data;
            for (int ch = 0; ch < c; ch++)
            {
                mean[ch] = (float)batchMean[ch];
                invStd[ch] = BatchNormKernels.InvStd(batchVar[ch], eps);
                float runMean = rm.IsEmpty ? 0f : rm[ch], runVar = rv.IsEmpty ? 0f : rv[ch];
                BatchNormKernels.UpdateRunningStatistics(ref runMean, ref runVar, batchMean[ch], batchVar[ch], m, momentum);
                if (!rm.IsEmpty) rm[ch] = runMean;
                if (!rv.IsEmpty) rv[ch] = runVar;
            }
        }
        else
        {
            ReadOnlySpan<float> rm = runningMean!.Data, rv = runningVar!.Data;
            for (int ch = 0; ch < c; ch++)
            {
                mean[ch] = rm[ch];
                invStd[ch] = BatchNormKernels.InvStd(rv[ch], eps);
            }
        }

        var y = Tensor.Uninitialized(x.Shape);
        BatchNormKernels.Normalize(x.Data, mean, invStd, weight is null ? default : weight.Data, bias is null ? default : bias.Data, y.Data, n, c, s);
        var inputs = new List<Tensor> { x };
        if (weight is not null) inputs.Add(weight);
        if (bias is not null) inputs.Add(bias);
        y.SetGradFn(new BatchNormBackward([.. inputs], x, weight, bias, mean, invStd, training, (n, c, s)));
        if (Tracer.Current is not null) Tracer.Describe(y, new BatchNormSpec(runningMean, runningVar, weight, bias, training, momentum, eps));
        return y;
    }
}

/// <summary>Holds the per-channel mean and 1/sqrt(var + eps) used in the forward (batch or running statistics).</summary>
file sealed class BatchNormBackward(Tensor[] inputs, Tensor x, Tensor? weight, Tensor? bias, float[] mean, float[] invStd,
    bool training, (int N, int C, int S) layout) : Node(inputs)
{
    protected internal override void Backward(Tensor gradOutput)
    {
        Span<float> gx = GradOf(x), gw = weight is null ? default : GradOf(weight), gb = bias is null ? default : GradOf(bias);
        ReadOnlySpan<float> w = weight is null ? default : weight.Data;
        var (n, c, s) = layout;
        if (training) BatchNormKernels.BackwardTraining(x.Data, gradOutput.Data, mean, invStd, w, gx, gw, gb, n, c, s);
        else BatchNormKernels.BackwardEval(x.Data, gradOutput.Data, mean, invStd, w, gx, gw, gb, n, c, s);
    }
}
