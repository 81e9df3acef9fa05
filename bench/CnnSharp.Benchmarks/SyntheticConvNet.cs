namespace CnnSharp.Benchmarks;

/// <summary>A seed-shaped ConvNet state dict with PyTorch-like random initialisation and random images (kernel-only timings).</summary>
public static class SyntheticConvNet
{
    /// <summary>Parameters and buffers under PyTorch's keys, uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)) weights.</summary>
    public static List<KeyValuePair<string, Tensor>> StateDict(int seed = 1)
    {
        var rng = new Random(seed);
        Tensor U(double bound, params int[] shape)
        {
            var t = Tensor.Zeros(shape);
            var d = t.Data;
            for (int i = 0; i < d.Length; i++) d[i] = (float)((rng.NextDouble() * 2 - 1) * bound);
            return t;
        }
        Tensor Fill(float v, int n)
        {
            var t = Tensor.Zeros(n);
            t.Data.Fill(v);
            return t;
        }
        return
        [
            new("layer1.0.weight", U(1 / 5.0, 16, 1, 5, 5)), new("layer1.0.bias", U(1 / 5.0, 16)),
            new("layer1.1.weight", Fill(1, 16)), new("layer1.1.bias", Fill(0, 16)),
            new("layer1.1.running_mean", Fill(0, 16)), new("layer1.1.running_var", Fill(1, 16)), new("layer1.1.num_batches_tracked", Tensor.Zeros()),
            new("layer2.0.weight", U(1 / 20.0, 32, 16, 5, 5)), new("layer2.0.bias", U(1 / 20.0, 32)),
            new("layer2.1.weight", Fill(1, 32)), new("layer2.1.bias", Fill(0, 32)),
            new("layer2.1.running_mean", Fill(0, 32)), new("layer2.1.running_var", Fill(1, 32)), new("layer2.1.num_batches_tracked", Tensor.Zeros()),
            new("fc.weight", U(1 / Math.Sqrt(1568), 10, 1568)), new("fc.bias", U(1 / Math.Sqrt(1568), 10)),
        ];
    }

    /// <summary>Random images in [0, 1), shape (n, 1, 28, 28), and labels.</summary>
    public static (Tensor Images, int[] Labels) Batch(int n, int seed = 2)
    {
        var rng = new Random(seed);
        var images = Tensor.Zeros(n, 1, 28, 28);
        var d = images.Data;
        for (int i = 0; i < d.Length; i++) d[i] = (float)rng.NextDouble();
        var labels = new int[n];
        for (int i = 0; i < n; i++) labels[i] = rng.Next(10);
        return (images, labels);
    }
}
