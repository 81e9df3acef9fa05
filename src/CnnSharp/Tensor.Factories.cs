namespace CnnSharp;

public sealed partial class Tensor
{
    /// <summary>A zero-filled tensor.</summary>
    public static Tensor Zeros(params int[] shape) => new(new float[new Shape(shape).Numel], new Shape(shape));

    /// <summary>A zero-filled tensor.</summary>
    public static Tensor Zeros(Shape shape) => new(new float[shape.Numel], shape);

    /// <summary>A tensor filled with ones.</summary>
    public static Tensor Ones(params int[] shape) => Full(1f, shape);

    /// <summary>A tensor filled with <paramref name="value"/>.</summary>
    public static Tensor Full(float value, params int[] shape)
    {
        var s = new Shape(shape);
        var data = new float[s.Numel];
        data.AsSpan().Fill(value);
        return new Tensor(data, s);
    }

    /// <summary>A tensor whose contents are unspecified (it will be fully overwritten). For ops and kernels.</summary>
    /// <remarks>Large ones reuse a buffer the eager path's caching allocator holds, when one of that length is free.</remarks>
    internal static Tensor Uninitialized(Shape shape) => new(Autograd.CachingAllocator.Rent(shape.Numel), shape);

    /// <summary>A tensor copying <paramref name="data"/> with the given shape.</summary>
    /// <exception cref="ShapeException">The element count differs from the shape's.</exception>
    public static Tensor FromArray(ReadOnlySpan<float> data, params int[] shape) => new(data.ToArray(), new Shape(shape));

    /// <summary>A one-element tensor of shape () (a scalar).</summary>
    public static Tensor Scalar(float value) => new([value], new Shape());

    /// <summary>A 2-D tensor from a rectangular array (copied).</summary>
    public static Tensor FromArray(float[,] data)
    {
        ArgumentNullException.ThrowIfNull(data);
        int r = data.GetLength(0), c = data.GetLength(1);
        var flat = new float[r * c];
        for (int i = 0; i < r; i++)
            for (int j = 0; j < c; j++)
                flat[i * c + j] = data[i, j];
        return new Tensor(flat, new Shape(r, c));
    }

    /// <summary>Values 0, 1, ..., n-1 as a 1-D tensor.</summary>
    public static Tensor Arange(int n)
    {
        var data = new float[n];
        for (int i = 0; i < n; i++) data[i] = i;
        return new Tensor(data, new Shape(n));
    }

    /// <summary>Uniform samples in [<paramref name="low"/>, <paramref name="high"/>) (PyTorch's <c>uniform_</c>).</summary>
    /// <remarks>Every random factory (<see cref="Rand"/>, <see cref="Randn"/>, <see cref="Uniform"/>, <see cref="Normal"/>) takes
    /// the generator first (null: <see cref="Generator.Default"/>); the in-place initialisers of <c>Init</c> take the
    /// tensor first and the generator last, as <c>torch.nn.init</c> does.</remarks>
    public static Tensor Uniform(Generator? generator, Shape shape, float low = 0f, float high = 1f)
    {
        var g = generator ?? Generator.Default;
        var data = new float[shape.Numel];
        for (int i = 0; i < data.Length; i++) data[i] = (float)(low + (high - low) * g.NextDouble());
        return new Tensor(data, shape);
    }

    /// <summary>Uniform samples in [0, 1) (PyTorch's <c>torch.rand</c>).</summary>
    public static Tensor Rand(Generator? generator, params int[] shape) => Uniform(generator, new Shape(shape));

    /// <summary>Normal samples with the given mean and standard deviation (PyTorch's <c>normal_</c>).</summary>
    public static Tensor Normal(Generator? generator, Shape shape, float mean = 0f, float std = 1f)
    {
        var g = generator ?? Generator.Default;
        var data = new float[shape.Numel];
        for (int i = 0; i < data.Length; i++) data[i] = (float)(mean + std * g.NextNormal());
        return new Tensor(data, shape);
    }

    /// <summary>Standard normal samples (PyTorch's <c>torch.randn</c>).</summary>
    public static Tensor Randn(Generator? generator, params int[] shape) => Normal(generator, new Shape(shape));
}
