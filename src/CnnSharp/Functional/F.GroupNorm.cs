using CnnSharp.Autograd;
using CnnSharp.Compile;
using CnnSharp.Kernels;

namespace CnnSharp.Functional;

public static partial class F
{
    private static void TraceGroupNorm(Tensor y, int numGroups, bool hasWeight, bool hasBias, float eps) =>
        Tracer.Describe(y, new GroupNormSpec(numGroups, hasWeight, hasBias, eps, i => GroupNorm(i[0], numGroups, hasWeight ? i[1] : null, hasBias ? i[^1] : null, eps)));

    /// <summary>Group normalisation (PyTorch's <c>F.group_norm</c>): statistics per sample over each group of channels.</summary>
    /// <remarks>
    /// For input (N, C, *) split into G = <paramref name="numGroups"/> groups of C/G channels, each (n, group) block of
    /// M = C/G·prod(*) values is normalised with its own mean and biased variance:
    /// <c>y[n, c, ...] = (x − mean[n, g]) / √(var[n, g] + eps) · weight[c] + bias[c]</c>. Unlike batch norm there are
    /// no running statistics and training and eval behave alike. Statistics are computed in double. Gradients flow to x,
    /// weight and bias.
    /// </remarks>
    /// <param name="x">Shape (N, C, *) with rank ≥ 2.</param>
    /// <param name="numGroups">Number of groups G; divides C.</param>
    /// <param name="weight">Shape (C) per-channel scale, or null for 1.</param>
    /// <param name="bias">Shape (C) per-channel shift, or null for 0.</param>
    /// <param name="eps">Added to the variance; non-negative.</param>
    /// <returns>Same shape as <paramref name="x"/>.</returns>
    /// <exception cref="ShapeException">Rank below 2, G not positive or not dividing C, or weight/bias not of shape (C).</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="eps"/> is negative or NaN.</exception>
    public static Tensor GroupNorm(Tensor x, int numGroups, Tensor? weight = null, Tensor? bias = null, float eps = 1e-5f)
    {
        ArgumentNullException.ThrowIfNull(x);
        string Describe() => $"input {x.Shape}, num_groups {numGroups}, weight {weight?.Shape.ToString() ?? "none"}, bias {bias?.Shape.ToString() ?? "none"}";
        if (x.Rank < 2) throw new ShapeException($"GroupNorm: expected an input of rank 2 or more (N, C, ...) ({Describe()})");
        if (!(eps >= 0)) throw new ArgumentOutOfRangeException(nameof(eps), eps, $"GroupNorm: eps must be non-negative ({Describe()})");
        int n = x.Shape[0], c = x.Shape[1];
        if (numGroups <= 0 || c % numGroups != 0)
            throw new ShapeException($"GroupNorm: expected the number of channels {c} to be divisible by num_groups {numGroups} ({Describe()})");
        foreach (var (t, name) in new[] { (weight, "weight"), (bias, "bias") })
            if (t is not null && !t.Shape.Equals([c]))
                throw new ShapeException($"GroupNorm: {name} has shape {t.Shape} but the input has {c} channels ({Describe()})");
        int spatial = c == 0 || n == 0 ? 0 : x.Numel / (n * c);
        var y = NormRows("GroupNormBackward", x, weight, bias, eps, rows: n * numGroups, rowLength: c / numGroups * spatial, repeat: Math.Max(spatial, 1));
        if (Tracer.Current is not null) TraceGroupNorm(y, numGroups, weight is not null, bias is not null, eps);
        return y;
    }

    /// <summary>Normalises contiguous rows (see <see cref="RowNormKernels"/>) and records the backward node.</summary>
    private static Tensor NormRows(string name, Tensor x, Tensor? weight, Tensor? bias, float eps, int rows, int rowLength, int repeat)
    {
        var y = Tensor.Uninitialized(x.Shape);
        var mean = new double[rowLength == 0 ? 0 : rows];
        var rstd = new double[mean.Length];
        if (mean.Length > 0)
            RowNormKernels.Forward(x.Data, y.Data, rowLength, eps, weight is null ? default : weight.Data, bias is null ? default : bias.Data, repeat, mean, rstd);
        y.SetGradFn(new RowNormBackward(name, x, weight, bias, rowLength, repeat, mean, rstd));
        return y;
    }
}

/// <summary>Gradients of GroupNorm and LayerNorm (see <see cref="RowNormKernels"/>); inputs are x, then weight and bias when given.</summary>
internal sealed class RowNormBackward(string name, Tensor x, Tensor? weight, Tensor? bias, int rowLength, int repeat, double[] mean, double[] rstd)
    : Node(weight is null ? (bias is null ? [x] : [x, bias]) : bias is null ? [x, weight] : [x, weight, bias])
{
    public override string Name => name;

    protected internal override void Backward(Tensor gradOutput)
    {
        if (mean.Length == 0) return;
        var dx = GradOf(x);
        var dw = weight is null ? Span<float>.Empty : GradOf(weight);
        var db = bias is null ? Span<float>.Empty : GradOf(bias);
        if (dx.IsEmpty && dw.IsEmpty && db.IsEmpty) return;
        RowNormKernels.Backward(x.Data, gradOutput.Data, rowLength, weight is null ? default : weight.Data, repeat, mean, rstd, dx, dw, db);
    }
}
