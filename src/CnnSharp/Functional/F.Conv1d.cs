using CnnSharp.Compile;

namespace CnnSharp.Functional;

public static partial class F
{
    /// <summary>1-D convolution (a cross-correlation, as in PyTorch's <c>torch.nn.functional.conv1d</c>).</summary>
    /// <remarks>
    /// <para>With G = <paramref name="groups"/>, Cg = C/G, Kg = K/G and g = k / Kg:</para>
    /// <para><c>out[n,k,o] = bias[k] + Σ_{c&lt;Cg, j&lt;KL} input[n, g·Cg + c, o·s − p + j·d] · weight[k,c,j]</c>, positions outside
    /// the input being zero padding; <c>OutL = floor((L + 2p − d·(KL−1) − 1)/s) + 1</c>.</para>
    /// <para>It runs as a 2-D convolution of height 1 (input viewed as (N, C, 1, L), weight as (K, C/G, 1, KL)), so it
    /// shares the 2-D kernels and their backward; gradients flow to every argument that requires grad.</para>
    /// </remarks>
    /// <param name="input">Shape (N, C, L).</param>
    /// <param name="weight">Shape (K, C/groups, KL).</param>
    /// <param name="bias">Shape (K), or null for none.</param>
    /// <param name="stride">Step between outputs (≥ 1).</param>
    /// <param name="padding">Zeros added at both ends (≥ 0).</param>
    /// <param name="dilation">Spacing between kernel taps (≥ 1).</param>
    /// <param name="groups">Channel groups; divides C and K.</param>
    /// <returns>Shape (N, K, OutL).</returns>
    /// <exception cref="ShapeException">Wrong ranks, channel mismatch, groups not dividing the channels, a kernel longer than the
    /// padded input, a non-positive stride or dilation, negative padding, or a bias of the wrong length.</exception>
    public static Tensor Conv1d(Tensor input, Tensor weight, Tensor? bias = null, int stride = 1, int padding = 0, int dilation = 1, int groups = 1)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(weight);
        string d = $"input {input.Shape}, weight {weight.Shape}, stride {stride}, padding {padding}, dilation {dilation}, groups {groups}";
        if (input.Rank != 3) throw new ShapeException($"Conv1d: expected a 3-D input (N, C, L) ({d})");
        if (weight.Rank != 3) throw new ShapeException($"Conv1d: expected a 3-D weight (K, C/groups, KL) ({d})");
        if (stride <= 0) throw new ShapeException($"Conv1d: stride must be positive ({d})");
        if (dilation <= 0) throw new ShapeException($"Conv1d: dilation must be positive ({d})");
        if (padding < 0) throw new ShapeException($"Conv1d: padding must be non-negative ({d})");
        if (groups <= 0) throw new ShapeException($"Conv1d: groups must be positive ({d})");
        int n = input.Size(0), c = input.Size(1), l = input.Size(2);
        int k = weight.Size(0), cg = weight.Size(1), kl = weight.Size(2);
        if (k <= 0 || kl <= 0) throw new ShapeException($"Conv1d: weight dimensions must be positive ({d})");
        if (c % groups != 0) throw new ShapeException($"Conv1d: groups {groups} does not divide input channels {c} ({d})");
        if (k % groups != 0) throw new ShapeException($"Conv1d: groups {groups} does not divide output channels {k} ({d})");
        if (c / groups != cg) throw new ShapeException($"Conv1d: input has {c} channels but weight expects {cg * groups} ({d})");
        if (Conv2dGeometry.OutputSize(l, kl, stride, padding, dilation) <= 0)
            throw new ShapeException($"Conv1d: kernel {kl} with dilation {dilation} spans {(long)dilation * (kl - 1) + 1}, more than the padded input length {l + 2L * padding} ({d})");
        CheckConvBias("Conv1d", input, weight, bias, k);

        var g = Conv2dGeometry.Create([n, c, 1, l], [k, cg, 1, kl], (1, stride), (0, padding), (1, dilation), groups, "Conv1d");
        // The (N, C, L) input and (K, C/G, KL) weight are the (N, C, 1, L) and (K, C/G, 1, KL) tensors' data as they
        // are: the 2-D op runs on them directly, so a trace records one op on 3-D values (the compiled conv, batch-norm
        // folding and fusions included), not reshapes around it.
        var y = Conv2dCore(input, weight, bias, g, new Shape(n, k, g.OutW));
        if (Tracer.Current is not null) Tracer.Describe(y, new Conv2dSpec(weight, bias, g));
        return y;
    }
}
