using CnnSharp.Autograd;
using CnnSharp.Kernels;
using CnnSharp.Compile;

namespace CnnSharp.Functional;

public static partial class F
{
    /// <summary>Linear (fully connected) map <c>y = x·Wᵀ + b</c>, as PyTorch's <c>torch.nn.functional.linear</c>.</summary>
    /// <remarks>
    /// <para><c>y[..., o] = bias[o] + Σ_i input[..., i] · weight[o, i]</c>: every leading dimension of the input is kept, the
    /// last one (In) becomes Out. Gradients flow to the input, weight and bias, each only when it requires grad.</para>
    /// <para>Example: the tutorial's classifier maps the flattened (N, 1568) features to (N, 10) with a (10, 1568) weight.</para>
    /// </remarks>
    /// <param name="input">Shape (..., In), at least 1-D.</param>
    /// <param name="weight">Shape (Out, In).</param>
    /// <param name="bias">Shape (Out), or null for none.</param>
    /// <returns>Shape (..., Out).</returns>
    /// <exception cref="ShapeException">The weight is not 2-D, the input's last dimension differs from In, or the bias length differs
    /// from Out; the message names the shapes.</exception>
    public static Tensor Linear(Tensor input, Tensor weight, Tensor? bias = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(weight);
        string d = $"input {input.Shape}, weight {weight.Shape}" + (bias is null ? "" : $", bias {bias.Shape}");
        if (weight.Rank != 2) throw new ShapeException($"Linear: expected a 2-D weight (out_features, in_features) ({d})");
        if (input.Rank < 1) throw new ShapeException($"Linear: expected an input with at least 1 dimension (..., in_features) ({d})");
        int outF = weight.Size(0), inF = weight.Size(1);
        if (input.Size(-1) != inF)
            throw new ShapeException($"Linear: input has {input.Size(-1)} features in its last dimension but the weight expects {inF} ({d})");
        if (bias is not null && (bias.Rank != 1 || bias.Numel != outF))
            throw new ShapeException($"Linear: bias must have shape ({outF}) to match the weight's {outF} output features ({d})");

        int rows = 1;
        for (int i = 0; i < input.Rank - 1; i++) rows *= input.Size(i);
        var dims = input.Shape.ToArray();
        dims[^1] = outF;
        var y = Tensor.Uninitialized(new Shape(dims));
        LinearKernels.Forward(input.Data, weight.Data, bias is null ? default : bias.Data, y.Data, rows, inF, outF);
        y.SetGradFn(new LinearBackward(input, weight, bias, rows));
        if (Tracer.Current is not null) Tracer.Describe(y, new LinearSpec(weight, bias));
        return y;
    }
}

/// <summary>Gradients of linear: <c>dx += dy·W</c>, <c>dW += dyᵀ·x</c>, <c>db += Σ_rows dy</c>; each only where required.</summary>
file sealed class LinearBackward : Node
{
    private readonly Tensor _input;
    private readonly Tensor _weight;
    private readonly Tensor? _bias;
    private readonly int _rows;

    public LinearBackward(Tensor input, Tensor weight, Tensor? bias, int rows)
        : base(bias is null ? [input, weight] : [input, weight, bias])
    {
        _input = input;
        _weight = weight;
        _bias = bias;
        _rows = rows;
    }

    protected internal override void Backward(Tensor gradOutput)
    {
        int outF = _weight.Size(0), inF = _weight.Size(1);
        var gradInput = GradOf(_input);
        if (!gradInput.IsEmpty) LinearKernels.BackwardInput(gradOutput.Data, _weight.Data, gradInput, _rows, inF, outF);
        var gradWeight = GradOf(_weight);
        if (!gradWeight.IsEmpty) LinearKernels.BackwardWeight(_input.Data, gradOutput.Data, gradWeight, _rows, inF, outF);
        if (_bias is not null)
        {
            var gradBias = GradOf(_bias);
            if (!gradBias.IsEmpty) LinearKernels.BackwardBias(gradOutput.Data, gradBias, _rows, outF);
        }
    }
}
