using CnnSharp.Kernels;
using CnnSharp.Kernels.Direct;
using CnnSharp.Training.Fast;

namespace CnnSharp.Tests.Training.Fast;

/// <summary>
/// The fused engine and predictor against <see cref="ConvNetReference"/> (double precision, NCHW, unfused): one training
/// step's loss, every gradient and the updated running statistics; eval-mode logits; on every SIMD path.
/// </summary>
/// <remarks>
/// Tolerance: float32 sums of up to a few thousand products (conv2 reduces 400 terms per output, the weight gradients
/// N*196..N*784 terms, batch-norm statistics N*784) against double. Each tensor is compared as
/// max|got - want| &lt;= 5e-5 * max|want| (observed: about 1e-6) (the error is relative to the tensor's scale, not per element, because elements
/// near zero carry the absolute rounding of large cancelling sums). Conv biases feed batch norm, which removes them,
/// so their exact gradient is 0; the engine's must be negligible next to the same layer's beta gradient.
/// </remarks>
public sealed class ConvNetEngineTests
{
    public static TheoryData<int, int, int, int, int, int, int> Cases()
    {
        var d = new TheoryData<int, int, int, int, int, int, int>();
        foreach (IsaLevel path in Enum.GetValues<IsaLevel>())
        {
            d.Add(16, 32, 5, 5, 28, 3, (int)path); // the seed's ConvNet, batch 3
            d.Add(16, 16, 3, 5, 12, 2, (int)path); // other kernel sizes and channel counts
        }
        return d;
    }

    [Theory, MemberData(nameof(Cases))]
    public void TrainStep_matches_double_reference_loss_gradients_and_running_stats(int c1, int c2, int k1, int k2, int s, int n, int pathIndex)
    {
        var rng = new Random(c1 + c2 * 3 + k1 * 7 + s);
        var reference = Build(rng, c1, c2, k1, k2, s, 10);
        var (images, labels) = Batch(rng, n, s, 10);
        var want = reference.TrainStep(Array.ConvertAll(images, v => (double)v), n, labels);

        var state = StateDict(reference);
        var engine = new ConvNetEngine(state, 1e-5f, 0.1f, (IsaLevel)pathIndex);
        float loss = engine.TrainStep(Tensor.FromArray(images, n, 1, s, s), labels);

        Assert.True(Math.Abs(loss - want.Loss) <= 1e-5 * Math.Max(1, want.Loss), $"loss {loss} vs {want.Loss}");
        var p = state.ToDictionary(e => e.Key, e => e.Value);
        Close(want.DW1, p["layer1.0.weight"].Grad!, "layer1.0.weight grad");
        Close(want.DG1, p["layer1.1.weight"].Grad!, "layer1.1.weight grad");
        Close(want.DBe1, p["layer1.1.bias"].Grad!, "layer1.1.bias grad");
        Close(want.DW2, p["layer2.0.weight"].Grad!, "layer2.0.weight grad");
        Close(want.DG2, p["layer2.1.weight"].Grad!, "layer2.1.weight grad");
        Close(want.DBe2, p["layer2.1.bias"].Grad!, "layer2.1.bias grad");
        Close(want.DWfc, p["fc.weight"].Grad!, "fc.weight grad");
        Close(want.DBfc, p["fc.bias"].Grad!, "fc.bias grad");
        Negligible(p["layer1.0.bias"].Grad!, want.DBe1, "layer1.0.bias grad");
        Negligible(p["layer2.0.bias"].Grad!, want.DBe2, "layer2.0.bias grad");
        Close(want.Rm1, p["layer1.1.running_mean"], "layer1 running_mean");
        Close(want.Rv1, p["layer1.1.running_var"], "layer1 running_var");
        Close(want.Rm2, p["layer2.1.running_mean"], "layer2 running_mean");
        Close(want.Rv2, p["layer2.1.running_var"], "layer2 running_var");
        Assert.Equal(1f, p["layer1.1.num_batches_tracked"].Item());
        Assert.Equal(1f, p["layer2.1.num_batches_tracked"].Item());
    }

    [Theory, MemberData(nameof(Cases))]
    public void Predictor_matches_double_reference_eval_logits(int c1, int c2, int k1, int k2, int s, int n, int pathIndex)
    {
        var rng = new Random(c1 * 5 + c2 + k2 + s);
        var reference = Build(rng, c1, c2, k1, k2, s, 10);
        var (images, _) = Batch(rng, n + 1, s, 10);
        var want = reference.EvalLogits(Array.ConvertAll(images, v => (double)v), n + 1);
        var predictor = new ConvNetPredictor(StateDict(reference), 1e-5f, (IsaLevel)pathIndex);
        var got = predictor.Predict(Tensor.FromArray(images, n + 1, 1, s, s));
        Close(want, got, "eval logits");

        // Batch 1 (the single-threaded path) gives the first image's logits.
        var one = predictor.Predict(Tensor.FromArray(images.AsSpan(0, s * s).ToArray(), 1, 1, s, s));
        Close(want.AsSpan(0, 10).ToArray(), one, "batch-1 logits");
    }

    private static void Close(double[] want, Tensor got, string what)
    {
        Assert.Equal(want.Length, got.Numel);
        double scale = want.Max(Math.Abs), worst = 0;
        int at = -1;
        for (int i = 0; i < want.Length; i++)
        {
            double e = Math.Abs(got.Data[i] - want[i]);
            if (e > worst) { worst = e; at = i; }
        }
        Assert.True(worst <= 5e-5 * scale + 1e-12, $"{what}: max error {worst:E3} at {at} (got {(at >= 0 ? got.Data[at] : 0)}, want {(at >= 0 ? want[at] : 0)}), scale {scale:E3}");
    }

    private static void Negligible(Tensor got, double[] betaGrad, string what)
    {
        double scale = betaGrad.Max(Math.Abs);
        foreach (float v in got.Data)
            Assert.True(Math.Abs(v) <= 1e-3 * scale, $"{what}: {v} is not negligible next to the beta gradient scale {scale:E3}");
    }

    internal static ConvNetReference Build(Random rng, int c1, int c2, int k1, int k2, int s, int classes)
    {
        double[] U(int len, double lo, double hi)
        {
            var a = new double[len];
            for (int i = 0; i < len; i++) a[i] = (float)(lo + (hi - lo) * rng.NextDouble());
            return a;
        }
        int f = c2 * (s / 4) * (s / 4);
        double b1 = 1 / Math.Sqrt(k1 * k1), b2 = 1 / Math.Sqrt(c1 * k2 * k2), bf = 1 / Math.Sqrt(f);
        return new ConvNetReference
        {
            C1 = c1, C2 = c2, K1 = k1, K2 = k2, S = s, Classes = classes,
            W1 = U(c1 * k1 * k1, -b1, b1), B1 = U(c1, -b1, b1), G1 = U(c1, 0.5, 1.5), Be1 = U(c1, -0.5, 0.5), Rm1 = U(c1, -0.2, 0.2), Rv1 = U(c1, 0.5, 2),
            W2 = U(c2 * c1 * k2 * k2, -b2, b2), B2 = U(c2, -b2, b2), G2 = U(c2, 0.5, 1.5), Be2 = U(c2, -0.5, 0.5), Rm2 = U(c2, -0.2, 0.2), Rv2 = U(c2, 0.5, 2),
            Wfc = U(classes * f, -bf, bf), Bfc = U(classes, -bf, bf),
        };
    }

    internal static (float[] Images, int[] Labels) Batch(Random rng, int n, int s, int classes)
    {
        var images = new float[n * s * s];
        for (int i = 0; i < images.Length; i++) images[i] = (float)rng.NextDouble();
        var labels = new int[n];
        for (int i = 0; i < n; i++) labels[i] = rng.Next(classes);
        return (images, labels);
    }

    internal static List<KeyValuePair<string, Tensor>> StateDict(ConvNetReference r)
    {
        Tensor T(double[] a, params int[] shape) => Tensor.FromArray(Array.ConvertAll(a, v => (float)v), shape);
        int f = r.Features;
        return
        [
            new("layer1.0.weight", T(r.W1, r.C1, 1, r.K1, r.K1)), new("layer1.0.bias", T(r.B1, r.C1)),
            new("layer1.1.weight", T(r.G1, r.C1)), new("layer1.1.bias", T(r.Be1, r.C1)),
            new("layer1.1.running_mean", T(r.Rm1, r.C1)), new("layer1.1.running_var", T(r.Rv1, r.C1)),
            new("layer1.1.num_batches_tracked", Tensor.Zeros()),
            new("layer2.0.weight", T(r.W2, r.C2, r.C1, r.K2, r.K2)), new("layer2.0.bias", T(r.B2, r.C2)),
            new("layer2.1.weight", T(r.G2, r.C2)), new("layer2.1.bias", T(r.Be2, r.C2)),
            new("layer2.1.running_mean", T(r.Rm2, r.C2)), new("layer2.1.running_var", T(r.Rv2, r.C2)),
            new("layer2.1.num_batches_tracked", Tensor.Zeros()),
            new("fc.weight", T(r.Wfc, r.Classes, f)), new("fc.bias", T(r.Bfc, r.Classes)),
        ];
    }
}
