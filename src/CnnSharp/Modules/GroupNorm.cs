using CnnSharp.Functional;

namespace CnnSharp.Modules;

/// <summary>Group normalisation layer (PyTorch's <c>nn.GroupNorm</c>): <c>y = F.GroupNorm(x, NumGroups, Weight, Bias, Eps)</c>.</summary>
/// <remarks>
/// Parameters when affine: <c>weight</c> (ones) and <c>bias</c> (zeros), each of shape (C). No buffers: the statistics are
/// always the current sample's, so training and eval mode behave alike. Input (N, C, *).
/// </remarks>
public sealed class GroupNorm : Module
{
    /// <summary>Creates the layer.</summary>
    /// <param name="numGroups">Number of channel groups; divides <paramref name="numChannels"/>.</param>
    /// <param name="numChannels">Channels C of the input.</param>
    /// <param name="eps">Added to the variance; non-negative.</param>
    /// <param name="affine">Learn a per-channel scale and shift.</param>
    /// <exception cref="ShapeException">A count is not positive or the groups do not divide the channels.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="eps"/> is negative or NaN.</exception>
    public GroupNorm(int numGroups, int numChannels, float eps = 1e-5f, bool affine = true)
    {
        if (numGroups <= 0 || numChannels <= 0 || numChannels % numGroups != 0)
            throw new ShapeException($"GroupNorm: num_channels {numChannels} must be positive and divisible by num_groups {numGroups}");
        if (!(eps >= 0)) throw new ArgumentOutOfRangeException(nameof(eps), eps, "GroupNorm: eps must be non-negative");
        NumGroups = numGroups;
        NumChannels = numChannels;
        Eps = eps;
        Affine = affine;
        if (!affine) return;
        Weight = RegisterParameter("weight", Tensor.Ones(numChannels));
        Bias = RegisterParameter("bias", Tensor.Zeros(numChannels));
    }

    /// <summary>Number of channel groups.</summary>
    public int NumGroups { get; }
    /// <summary>Channels C.</summary>
    public int NumChannels { get; }
    /// <summary>Added to the variance.</summary>
    public float Eps { get; }
    /// <summary>Whether the layer has a learnt scale and shift.</summary>
    public bool Affine { get; }
    /// <summary>Per-channel scale, shape (C), or null when not affine.</summary>
    public Tensor? Weight { get; }
    /// <summary>Per-channel shift, shape (C), or null when not affine.</summary>
    public Tensor? Bias { get; }

    /// <summary>Normalises <paramref name="input"/> (N, C, *).</summary>
    /// <exception cref="ShapeException">The input has rank below 2 or not C channels.</exception>
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Rank < 2 || input.Shape[1] != NumChannels)
            throw new ShapeException($"GroupNorm: expected an input (N, {NumChannels}, ...), got {input.Shape}");
        return F.GroupNorm(input, NumGroups, Weight, Bias, Eps);
    }

    /// <summary>PyTorch's repr, e.g. <c>2, 6, eps=1e-05, affine=True</c>.</summary>
    protected override string ExtraRepr() => $"{NumGroups}, {NumChannels}, eps={Repr.Number(Eps)}, affine={Repr.Bool(Affine)}";
}
