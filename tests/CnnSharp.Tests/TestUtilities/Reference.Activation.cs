namespace CnnSharp.Tests.TestUtilities;

public static partial class Reference
{
    public static double[] Relu(double[] x) => x.Select(v => Math.Max(v, 0)).ToArray();

    public static double[] Relu6(double[] x) => x.Select(v => Math.Min(Math.Max(v, 0), 6)).ToArray();

    public static double[] LeakyRelu(double[] x, double slope) => x.Select(v => v > 0 ? v : slope * v).ToArray();

    public static double[] Sigmoid(double[] x) => x.Select(v => 1 / (1 + Math.Exp(-v))).ToArray();

    public static double[] Tanh(double[] x) => x.Select(Math.Tanh).ToArray();

    /// <summary>Softmax along <paramref name="dim"/> of a row-major tensor, max-subtracted, in double.</summary>
    public static double[] Softmax(double[] x, int[] shape, int dim) => SoftmaxCore(x, shape, dim, log: false);

    /// <summary>log(softmax) along <paramref name="dim"/>, computed as x - max - log(sum exp(x - max)).</summary>
    public static double[] LogSoftmax(double[] x, int[] shape, int dim) => SoftmaxCore(x, shape, dim, log: true);

    private static double[] SoftmaxCore(double[] x, int[] shape, int dim, bool log)
    {
        int d = dim < 0 ? dim + shape.Length : dim;
        int outer = shape.Take(d).Aggregate(1, (a, b) => a * b), size = shape[d], inner = shape.Skip(d + 1).Aggregate(1, (a, b) => a * b);
        var y = new double[x.Length];
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++)
            {
                int Index(int k) => (o * size + k) * inner + i;
                double max = Enumerable.Range(0, size).Max(k => x[Index(k)]);
                double sum = Enumerable.Range(0, size).Sum(k => Math.Exp(x[Index(k)] - max));
                for (int k = 0; k < size; k++)
                    y[Index(k)] = log ? x[Index(k)] - max - Math.Log(sum) : Math.Exp(x[Index(k)] - max) / sum;
            }
        return y;
    }
}
