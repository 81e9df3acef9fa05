using CnnSharp.Data;

namespace CnnSharp.Tests.Training;

/// <summary>
/// A tiny learnable stand-in for MNIST: class k is a bright 6x6 square at one of ten fixed places on a 28x28 noisy
/// background, so a ConvNet separates the classes within a few steps.
/// </summary>
internal static class SyntheticDigits
{
    public static TensorDataset Create(int count, int seed)
    {
        var g = new Generator((ulong)seed);
        var images = new float[count * 784];
        var labels = new int[count];
        for (int i = 0; i < count; i++)
        {
            int k = labels[i] = g.NextInt(10);
            var img = images.AsSpan(i * 784, 784);
            for (int p = 0; p < 784; p++) img[p] = 0.2f * g.NextFloat();
            int top = 2 + (k / 5) * 14, left = 1 + (k % 5) * 5;
            for (int r = top; r < top + 6; r++)
                for (int c = left; c < left + 6 && c < 28; c++)
                    img[r * 28 + c] = 1f;
        }
        return new TensorDataset(new Tensor(images, new Shape(count, 1, 28, 28)), labels);
    }
}
