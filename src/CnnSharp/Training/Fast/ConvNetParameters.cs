using CnnSharp.Kernels;
using CnnSharp.Kernels.Direct;

namespace CnnSharp.Training.Fast;

/// <summary>
/// The seed ConvNet's live parameter and buffer tensors, found by PyTorch state-dict key, with the shapes the fast
/// paths support checked once: conv(1 -> C1, KxK, 'same') + BN + ReLU + 2x2 max-pool, conv(C1 -> C2) + BN + ReLU +
/// 2x2 max-pool, linear(C2*(H/4)*(W/4) -> classes), on square H x W single-channel images with H divisible by 4.
/// </summary>
internal sealed class ConvNetParameters
{
    private static readonly string[] s_keys =
    [
        "layer1.0.weight", "layer1.0.bias", "layer1.1.weight", "layer1.1.bias", "layer1.1.running_mean", "layer1.1.running_var",
        "layer1.1.num_batches_tracked", "layer2.0.weight", "layer2.0.bias", "layer2.1.weight", "layer2.1.bias", "layer2.1.running_mean",
        "layer2.1.running_var", "layer2.1.num_batches_tracked", "fc.weight", "fc.bias",
    ];

    private ConvNetParameters(Tensor[] t)
    {
        Conv1Weight = t[0]; Conv1Bias = t[1]; Bn1Weight = t[2]; Bn1Bias = t[3]; Bn1RunningMean = t[4]; Bn1RunningVar = t[5]; Bn1Batches = t[6];
        Conv2Weight = t[7]; Conv2Bias = t[8]; Bn2Weight = t[9]; Bn2Bias = t[10]; Bn2RunningMean = t[11]; Bn2RunningVar = t[12]; Bn2Batches = t[13];
        FcWeight = t[14]; FcBias = t[15];
        C1 = Conv1Weight.Shape[0];
        C2 = Conv2Weight.Shape[0];
        K1 = Conv1Weight.Shape[2];
        K2 = Conv2Weight.Shape[2];
        Classes = FcWeight.Shape[0];
        Features = FcWeight.Shape[1];
    }

    public Tensor Conv1Weight { get; }
    public Tensor Conv1Bias { get; }
    public Tensor Bn1Weight { get; }
    public Tensor Bn1Bias { get; }
    public Tensor Bn1RunningMean { get; }
    public Tensor Bn1RunningVar { get; }
    public Tensor Bn1Batches { get; }
    public Tensor Conv2Weight { get; }
    public Tensor Conv2Bias { get; }
    public Tensor Bn2Weight { get; }
    public Tensor Bn2Bias { get; }
    public Tensor Bn2RunningMean { get; }
    public Tensor Bn2RunningVar { get; }
    public Tensor Bn2Batches { get; }
    public Tensor FcWeight { get; }
    public Tensor FcBias { get; }

    /// <summary>Channels after the first conv (a multiple of 16).</summary>
    public int C1 { get; }

    /// <summary>Channels after the second conv (a multiple of 16).</summary>
    public int C2 { get; }

    /// <summary>First kernel size (odd; padding K1/2).</summary>
    public int K1 { get; }

    /// <summary>Second kernel size (odd; padding K2/2).</summary>
    public int K2 { get; }

    /// <summary>Number of logits.</summary>
    public int Classes { get; }

    /// <summary>Inputs of the linear layer: C2 * (H/4) * (W/4).</summary>
    public int Features { get; }

    /// <summary>Input image side H = W, derived from <see cref="Features"/>.</summary>
    public int ImageSize => 4 * (int)Math.Round(Math.Sqrt(Features / (double)C2));

    /// <summary>
    /// The direct-kernel plans of the two convolutions at <paramref name="level"/>: stride 1, 'same' padding K/2, conv2 on
    /// the pooled half-size image. Shared by the training engine and the predictor.
    /// </summary>
    public (DirectConv2d Conv1, DirectConv2d Conv2) CreateConvolutions(IsaLevel level)
    {
        int size = ImageSize, half = size / 2;
        return (new DirectConv2d(1, C1, K1, K1 / 2, size, size, level), new DirectConv2d(C1, C2, K2, K2 / 2, half, half, level));
    }

    /// <summary>The trainable tensors in state-dict order.</summary>
    public IEnumerable<Tensor> Trainable => [Conv1Weight, Conv1Bias, Bn1Weight, Bn1Bias, Conv2Weight, Conv2Bias, Bn2Weight, Bn2Bias, FcWeight, FcBias];

    /// <summary>Maps <paramref name="stateDict"/>, or explains in <paramref name="reason"/> why it is not a supported ConvNet.</summary>
    public static ConvNetParameters? TryCreate(IReadOnlyList<KeyValuePair<string, Tensor>> stateDict, out string reason)
    {
        ArgumentNullException.ThrowIfNull(stateDict);
        var t = new Tensor[s_keys.Length];
        foreach (var (key, value) in stateDict)
        {
            int i = Array.IndexOf(s_keys, key);
            if (i < 0)
            {
                reason = $"unexpected state-dict key '{key}'";
                return null;
            }
            t[i] = value;
        }
        for (int i = 0; i < t.Length; i++)
        {
            if (t[i] is null)
            {
                reason = $"missing state-dict key '{s_keys[i]}'";
                return null;
            }
        }
        reason = Check(t);
        return reason.Length == 0 ? new ConvNetParameters(t) : null;
    }

    /// <summary>Maps <paramref name="stateDict"/> or throws.</summary>
    /// <exception cref="ArgumentException">The state dict is not the seed ConvNet's (keys or shapes).</exception>
    public static ConvNetParameters Create(IReadOnlyList<KeyValuePair<string, Tensor>> stateDict, string owner) =>
        TryCreate(stateDict, out string reason) ?? throw new ArgumentException($"{owner}: not a supported ConvNet state dict: {reason}", nameof(stateDict));

    private static string Check(Tensor[] t)
    {
        static bool Is(Tensor x, params int[] dims) => x.Shape.Rank == dims.Length && x.Shape.Dims.SequenceEqual(dims);
        var w1 = t[0].Shape;
        var w2 = t[7].Shape;
        var fc = t[14].Shape;
        if (w1.Rank != 4 || w1[1] != 1 || w1[2] != w1[3] || w1[2] % 2 == 0 || w1[0] % 16 != 0 || w1[0] == 0)
            return $"layer1.0.weight must be (16k, 1, K, K) with K odd, got {w1}";
        int c1 = w1[0];
        if (w2.Rank != 4 || w2[1] != c1 || w2[2] != w2[3] || w2[2] % 2 == 0 || w2[0] % 16 != 0 || w2[0] == 0)
            return $"layer2.0.weight must be (16k, {c1}, K, K) with K odd, got {w2}";
        int c2 = w2[0];
        if (fc.Rank != 2 || fc[0] < 1 || fc[1] % c2 != 0)
            return $"fc.weight must be (classes, {c2}*s*s), got {fc}";
        int side = (int)Math.Round(Math.Sqrt(fc[1] / (double)c2));
        if (side < 1 || side * side * c2 != fc[1])
            return $"fc.weight {fc} does not match a square {c2}-channel feature map";
        for (int layer = 0; layer < 2; layer++)
        {
            int c = layer == 0 ? c1 : c2, o = layer * 7;
            for (int j = 1; j <= 5; j++)
                if (!Is(t[o + j], c)) return $"{s_keys[o + j]} must have shape ({c}), got {t[o + j].Shape}";
            if (t[o + 6].Shape.Numel != 1) return $"{s_keys[o + 6]} must have one element, got {t[o + 6].Shape}";
        }
        if (!Is(t[15], fc[0])) return $"fc.bias must have shape ({fc[0]}), got {t[15].Shape}";
        return "";
    }
}
