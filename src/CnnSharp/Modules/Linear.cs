using CnnSharp.Functional;

namespace CnnSharp.Modules;

/// <summary>Fully connected layer (PyTorch's <c>nn.Linear</c>): <c>y = x·Weightᵀ + Bias</c>.</summary>
/// <remarks>
/// <para>Parameters: <c>weight</c> of shape (out, in) and, unless <c>bias: false</c>, <c>bias</c> of shape (out), initialised as in
/// PyTorch (<see cref="Init.DefaultLayerInit"/>: U(−1/√in, 1/√in) for both).</para>
/// <para>Input (..., in) → output (..., out). The tutorial's classifier is <c>new Linear(7 * 7 * 32, numClasses)</c>.</para>
/// </remarks>
public sealed class Linear : Module
{
    /// <summary>Creates the layer.</summary>
    /// <param name="inFeatures">Size of each input row.</param>
    /// <param name="outFeatures">Size of each output row.</param>
    /// <param name="bias">Whether to learn an additive bias.</param>
    /// <param name="generator">Random source for the initialisation (default <see cref="Generator.Default"/>).</param>
    /// <exception cref="ShapeException">A feature count is negative.</exception>
    public Linear(int inFeatures, int outFeatures, bool bias = true, Generator? generator = null)
    {
        if (inFeatures < 0 || outFeatures < 0)
            throw new ShapeException($"Linear: feature counts must be non-negative (in_features {inFeatures}, out_features {outFeatures})");
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        Weight = RegisterParameter("weight", Tensor.Zeros(outFeatures, inFeatures));
        if (bias) Bias = RegisterParameter("bias", Tensor.Zeros(outFeatures));
        Init.DefaultLayerInit(Weight, Bias, generator);
    }

    /// <summary>Size of each input row.</summary>
    public int InFeatures { get; }
    /// <summary>Size of each output row.</summary>
    public int OutFeatures { get; }
    /// <summary>The weight, shape (out, in).</summary>
    public Tensor Weight { get; }
    /// <summary>The bias, shape (out), or null when created with <c>bias: false</c>.</summary>
    public Tensor? Bias { get; }

    /// <summary>Maps <paramref name="input"/> (..., in) to (..., out).</summary>
    /// <exception cref="ShapeException">The input's last dimension is not <see cref="InFeatures"/>.</exception>
    public override Tensor Forward(Tensor input) => F.Linear(input, Weight, Bias);

    /// <summary>PyTorch's repr: <c>in_features=1568, out_features=10, bias=True</c>.</summary>
    protected override string ExtraRepr() => $"in_features={InFeatures}, out_features={OutFeatures}, bias={(Bias is not null ? "True" : "False")}";
}
