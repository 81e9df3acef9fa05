using CnnSharp.Autograd;
using CnnSharp.Kernels;

namespace CnnSharp.Functional;

public static partial class F
{
    /// <summary>
    /// Cross-entropy between logits and class-index targets: a fused, numerically stable log-softmax followed by the
    /// negative log-likelihood (PyTorch's <c>F.cross_entropy</c> without class weights), optionally with label smoothing.
    /// </summary>
    /// <remarks>
    /// <c>loss[n] = log(sum over j of exp(x[n, j])) - x[n, t[n]]</c>, computed as
    /// <c>m + log(sum exp(x[n, j] - m)) - x[n, t[n]]</c> with <c>m = max over j of x[n, j]</c>, so large logits do not
    /// overflow. The reduction is then applied (mean over N by default). The gradient is
    /// <c>d loss / d x[n, j] = (softmax(x[n])[j] - [j == t[n]]) * g[n]</c>, with <c>g[n] = 1/N</c> for the mean.
    /// </remarks>
    /// <param name="logits">Unnormalised scores, shape (N, C).</param>
    /// <param name="targets">Class index per sample, length N, each in [0, C).</param>
    /// <param name="reduction">Mean (default), Sum, or None for a per-sample loss of shape (N).</param>
    /// <param name="labelSmoothing">ε in [0, 1]; 0 (default) is plain cross-entropy.</param>
    /// <returns>A scalar of shape () for Mean/Sum; shape (N) for None. The mean over an empty batch is NaN, as in PyTorch.</returns>
    /// <exception cref="ShapeException"><paramref name="logits"/> is not 2-D or N differs from the number of targets.</exception>
    /// <exception cref="ArgumentException">A target lies outside [0, C).</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="labelSmoothing"/> is not in [0, 1].</exception>
    public static Tensor CrossEntropy(Tensor logits, int[] targets, Reduction reduction = Reduction.Mean, float labelSmoothing = 0f)
    {
        CheckLabelSmoothing(labelSmoothing);
        var (n, c) = ValidateClassTargets("CrossEntropy", logits, targets);
        ReadOnlySpan<float> x = logits.Data;
        // probs keeps softmax(x) for the backward pass; perSample the unreduced losses.
        var probs = GC.AllocateUninitializedArray<float>(n * c);
        var perSample = new double[n];
        for (int i = 0; i < n; i++)
        {
            var row = x.Slice(i * c, c);
            perSample[i] = CrossEntropyKernels.RowLoss(row, targets[i], probs.AsSpan(i * c, c));
            if (labelSmoothing != 0f) perSample[i] += CrossEntropyKernels.SmoothingTerm(row, targets[i], labelSmoothing);
        }
        var y = Reduce(perSample, reduction);
        y.SetGradFn(new CrossEntropyBackward(logits, probs, (int[])targets.Clone(), c, reduction, labelSmoothing));
        return y;
    }

    /// <summary>Throws unless ε is in [0, 1] (PyTorch's range for <c>label_smoothing</c>).</summary>
    internal static float CheckLabelSmoothing(float labelSmoothing) => labelSmoothing is >= 0f and <= 1f ? labelSmoothing
        : throw new ArgumentOutOfRangeException(nameof(labelSmoothing), labelSmoothing, "CrossEntropy: label smoothing must be in [0, 1]");

    /// <summary>
    /// Negative log-likelihood of class-index targets given log-probabilities (PyTorch's <c>F.nll_loss</c> without class
    /// weights): <c>loss[n] = -x[n, t[n]]</c>, then reduced. Combined with <c>LogSoftmax</c> it equals <see cref="CrossEntropy"/>.
    /// </summary>
    /// <param name="logProbs">Log-probabilities, shape (N, C).</param>
    /// <param name="targets">Class index per sample, length N, each in [0, C).</param>
    /// <param name="reduction">Mean (default), Sum, or None for a per-sample loss of shape (N).</param>
    /// <exception cref="ShapeException"><paramref name="logProbs"/> is not 2-D or N differs from the number of targets.</exception>
    /// <exception cref="ArgumentException">A target lies outside [0, C).</exception>
    public static Tensor NllLoss(Tensor logProbs, int[] targets, Reduction reduction = Reduction.Mean)
    {
        var (n, c) = ValidateClassTargets("NllLoss", logProbs, targets);
        ReadOnlySpan<float> x = logProbs.Data;
        var perSample = new double[n];
        for (int i = 0; i < n; i++) perSample[i] = -x[i * c + targets[i]];
        var y = Reduce(perSample, reduction);
        y.SetGradFn(new NllLossBackward(logProbs, (int[])targets.Clone(), c, reduction));
        return y;
    }

    private static (int N, int C) ValidateClassTargets(string op, Tensor input, int[] targets)
    {
        ArgumentNullException.ThrowIfNull(input);
        return ValidateClassTargets(op, input.Shape, targets);
    }

    /// <summary>Checks class-index targets against an (N, C) score shape (shared with the compiled executor's loss).</summary>
    internal static (int N, int C) ValidateClassTargets(string op, Shape input, int[] targets)
    {
        ArgumentNullException.ThrowIfNull(targets);
        if (input.Rank != 2)
            throw new ShapeException($"{op}: input must be 2-D (N, C), got shape {input}");
        int n = input[0], c = input[1];
        if (targets.Length != n)
            throw new ShapeException($"{op}: input has batch size {n} but there are {targets.Length} targets (input {input}, targets ({targets.Length}))");
        for (int i = 0; i < n; i++)
        {
            if ((uint)targets[i] >= (uint)c)
                throw new ArgumentException($"{op}: target {targets[i]} at index {i} is out of range for {c} classes (input {input})", nameof(targets));
        }
        return (n, c);
    }

    /// <summary>Applies <paramref name="reduction"/> to per-sample losses accumulated in double.</summary>
    private static Tensor Reduce(double[] perSample, Reduction reduction)
    {
        switch (reduction)
        {
            case Reduction.None:
                var y = new float[perSample.Length];
                for (int i = 0; i < y.Length; i++) y[i] = (float)perSample[i];
                return new Tensor(y, new Shape(perSample.Length));
            case Reduction.Sum:
                return Tensor.Scalar((float)perSample.Sum());
            case Reduction.Mean:
                return Tensor.Scalar((float)(perSample.Sum() / perSample.Length));
            default:
                throw new ArgumentOutOfRangeException(nameof(reduction), reduction, "unknown reduction");
        }
    }

    /// <summary>The upstream gradient of sample (or element) <paramref name="i"/> under <paramref name="reduction"/>.</summary>
    internal static float ReducedGrad(ReadOnlySpan<float> gradOutput, int i, int count, Reduction reduction) => reduction switch
    {
        Reduction.None => gradOutput[i],
        Reduction.Sum => gradOutput[0],
        _ => gradOutput[0] / count,
    };
}

file sealed class CrossEntropyBackward(Tensor logits, float[] probs, int[] targets, int classes, Reduction reduction, float labelSmoothing)
    : Node(logits)
{
    protected internal override void Backward(Tensor gradOutput)
    {
        var g = GradOf(logits);
        if (g.IsEmpty) return;
        ReadOnlySpan<float> gy = gradOutput.Data;
        int n = targets.Length;
        for (int i = 0; i < n; i++)
        {
            float gi = F.ReducedGrad(gy, i, n, reduction);
            var row = g.Slice(i * classes, classes);
            var p = probs.AsSpan(i * classes, classes);
            // d/dx[i,j] = (p[j] - (1 - eps) * onehot[j] - eps / C) * g[i]
            System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(p, gi, row, row);
            if (labelSmoothing != 0f) System.Numerics.Tensors.TensorPrimitives.Add(row, -labelSmoothing / classes * gi, row);
            row[targets[i]] -= (1f - labelSmoothing) * gi;
        }
    }
}

file sealed class NllLossBackward(Tensor logProbs, int[] targets, int classes, Reduction reduction) : Node(logProbs)
{
    protected internal override void Backward(Tensor gradOutput)
    {
        var g = GradOf(logProbs);
        if (g.IsEmpty) return;
        ReadOnlySpan<float> gy = gradOutput.Data;
        int n = targets.Length;
        for (int i = 0; i < n; i++) g[i * classes + targets[i]] -= F.ReducedGrad(gy, i, n, reduction);
    }
}
