using CnnSharp.Autograd;

namespace CnnSharp.Functional;

public static partial class F
{
    /// <summary>Mean squared error (PyTorch's <c>F.mse_loss</c>): <c>loss[i] = (input[i] - target[i])^2</c>, then reduced.</summary>
    /// <remarks>
    /// Both tensors must have the same shape (PyTorch would broadcast with a warning; here a mismatch is an error).
    /// Gradients flow to both: <c>d/d input[i] = 2 (input[i] - target[i]) g[i]</c> and the negative of that for the target.
    /// </remarks>
    /// <param name="input">Predictions, any shape.</param>
    /// <param name="target">Targets, the same shape as <paramref name="input"/>.</param>
    /// <param name="reduction">Mean (default) over all elements, Sum, or None for the element-wise squared errors.</param>
    /// <exception cref="ShapeException">The shapes differ.</exception>
    public static Tensor MseLoss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(target);
        if (input.Shape != target.Shape)
            throw new ShapeException($"MseLoss: input shape {input.Shape} differs from target shape {target.Shape}");
        ReadOnlySpan<float> x = input.Data, t = target.Data;
        Tensor y;
        if (reduction == Reduction.None)
        {
            y = Tensor.Uninitialized(input.Shape);
            var yd = y.Data;
            for (int i = 0; i < yd.Length; i++)
            {
                float d = x[i] - t[i];
                yd[i] = d * d;
            }
        }
        else
        {
            double sum = 0;
            for (int i = 0; i < x.Length; i++)
            {
                double d = (double)x[i] - t[i];
                sum += d * d;
            }
            y = Tensor.Scalar(reduction == Reduction.Sum ? (float)sum : (float)(sum / x.Length));
        }
        y.SetGradFn(new MseLossBackward(input, target, reduction));
        return y;
    }
}

file sealed class MseLossBackward(Tensor input, Tensor target, Reduction reduction) : Node(input, target)
{
    protected internal override void Backward(Tensor gradOutput)
    {
        var gx = GradOf(input);
        var gt = GradOf(target);
        ReadOnlySpan<float> x = input.Data, t = target.Data, gy = gradOutput.Data;
        int n = x.Length;
        for (int i = 0; i < n; i++)
        {
            float d = 2f * (x[i] - t[i]) * F.ReducedGrad(gy, i, n, reduction);
            if (!gx.IsEmpty) gx[i] += d;
            if (!gt.IsEmpty) gt[i] -= d;
        }
    }
}
