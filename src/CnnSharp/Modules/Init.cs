namespace CnnSharp.Modules;

/// <summary>
/// Parameter initialisation, mirroring <c>torch.nn.init</c>: each method fills the tensor in place (outside autograd) and
/// returns it. Random draws come from the given <see cref="Generator"/> (default <see cref="Generator.Default"/>).
/// </summary>
/// <remarks>
/// The layers' default (PyTorch's <c>reset_parameters</c> for Conv and Linear) is
/// <c>KaimingUniform(weight, a: √5)</c>, i.e. U(−b, b) with b = gain·√(3/fan_in) and gain = √(2/(1+a²)) = √(1/3), which
/// simplifies to <b>b = 1/√fan_in</b>; the bias is U(−1/√fan_in, 1/√fan_in). See <see cref="DefaultLayerInit"/>.
/// </remarks>
public static class Init
{
    /// <summary>
    /// The recommended gain for a nonlinearity (PyTorch's <c>calculate_gain</c>): 1 for linear, convolutions and sigmoid,
    /// 5/3 for tanh, √2 for ReLU, √(2/(1+slope²)) for leaky ReLU (slope <paramref name="param"/>, default 0.01), 3/4 for SELU.
    /// </summary>
    public static double CalculateGain(Nonlinearity nonlinearity, double? param = null) => nonlinearity switch
    {
        Nonlinearity.Linear or Nonlinearity.Conv1d or Nonlinearity.Conv2d or Nonlinearity.Sigmoid => 1.0,
        Nonlinearity.Tanh => 5.0 / 3.0,
        Nonlinearity.Relu => Math.Sqrt(2.0),
        Nonlinearity.LeakyRelu => Math.Sqrt(2.0 / (1 + Math.Pow(param ?? 0.01, 2))),
        Nonlinearity.Selu => 0.75,
        _ => throw new ArgumentOutOfRangeException(nameof(nonlinearity), nonlinearity, "unknown nonlinearity"),
    };

    /// <summary>
    /// Fan-in and fan-out of a weight shape (PyTorch's <c>_calculate_fan_in_and_fan_out</c>): with receptive field
    /// r = product of dims 2.., <c>fan_in = dims[1]·r</c> and <c>fan_out = dims[0]·r</c>. For a conv weight (K, C/G, KH, KW)
    /// that is fan_in = C/G·KH·KW; for a linear weight (Out, In) fan_in = In.
    /// </summary>
    /// <exception cref="ShapeException">The shape has fewer than 2 dimensions.</exception>
    public static (int FanIn, int FanOut) CalculateFanInAndFanOut(Shape shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        if (shape.Rank < 2)
            throw new ShapeException($"Init: fan in and fan out cannot be computed for a tensor with fewer than 2 dimensions (shape {shape})");
        int receptive = 1;
        for (int i = 2; i < shape.Rank; i++) receptive *= shape[i];
        return (shape[1] * receptive, shape[0] * receptive);
    }

    /// <summary>Fan-in and fan-out of <paramref name="tensor"/>'s shape; see <see cref="CalculateFanInAndFanOut(Shape)"/>.</summary>
    /// <exception cref="ShapeException">The tensor has fewer than 2 dimensions.</exception>
    public static (int FanIn, int FanOut) CalculateFanInAndFanOut(Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        return CalculateFanInAndFanOut(tensor.Shape);
    }

    /// <summary>Fills with samples of U(<paramref name="low"/>, <paramref name="high"/>) (PyTorch's <c>uniform_</c>).</summary>
    public static Tensor Uniform(Tensor tensor, double low = 0.0, double high = 1.0, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        var g = generator ?? Generator.Default;
        var data = tensor.Data;
        for (int i = 0; i < data.Length; i++) data[i] = (float)(low + (high - low) * g.NextDouble());
        return tensor;
    }

    /// <summary>Fills with samples of N(<paramref name="mean"/>, <paramref name="std"/>²) (PyTorch's <c>normal_</c>).</summary>
    public static Tensor Normal(Tensor tensor, double mean = 0.0, double std = 1.0, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        var g = generator ?? Generator.Default;
        var data = tensor.Data;
        for (int i = 0; i < data.Length; i++) data[i] = (float)(mean + std * g.NextNormal());
        return tensor;
    }

    /// <summary>Fills with <paramref name="value"/> (PyTorch's <c>constant_</c>).</summary>
    public static Tensor Constant(Tensor tensor, float value)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        tensor.Data.Fill(value);
        return tensor;
    }

    /// <summary>Fills with zeros (PyTorch's <c>zeros_</c>).</summary>
    public static Tensor Zeros(Tensor tensor) => Constant(tensor, 0f);

    /// <summary>Fills with ones (PyTorch's <c>ones_</c>).</summary>
    public static Tensor Ones(Tensor tensor) => Constant(tensor, 1f);

    /// <summary>
    /// He/Kaiming uniform (PyTorch's <c>kaiming_uniform_</c>): U(−b, b) with <c>b = gain·√(3/fan)</c>,
    /// gain = <see cref="CalculateGain"/>(<paramref name="nonlinearity"/>, <paramref name="a"/>), fan = fan_in or fan_out per <paramref name="mode"/>.
    /// </summary>
    /// <exception cref="ShapeException">The tensor has fewer than 2 dimensions.</exception>
    public static Tensor KaimingUniform(Tensor tensor, double a = 0.0, FanMode mode = FanMode.FanIn,
        Nonlinearity nonlinearity = Nonlinearity.LeakyRelu, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (tensor.Numel == 0) return tensor; // PyTorch: initialising a zero-element tensor is a no-op
        double bound = CalculateGain(nonlinearity, a) * Math.Sqrt(3.0 / Fan(tensor, mode));
        return Uniform(tensor, -bound, bound, generator);
    }

    /// <summary>
    /// He/Kaiming normal (PyTorch's <c>kaiming_normal_</c>): N(0, std²) with <c>std = gain/√fan</c>.
    /// </summary>
    /// <exception cref="ShapeException">The tensor has fewer than 2 dimensions.</exception>
    public static Tensor KaimingNormal(Tensor tensor, double a = 0.0, FanMode mode = FanMode.FanIn,
        Nonlinearity nonlinearity = Nonlinearity.LeakyRelu, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (tensor.Numel == 0) return tensor;
        double std = CalculateGain(nonlinearity, a) / Math.Sqrt(Fan(tensor, mode));
        return Normal(tensor, 0.0, std, generator);
    }

    /// <summary>Glorot/Xavier uniform (PyTorch's <c>xavier_uniform_</c>): U(−b, b) with <c>b = gain·√(6/(fan_in + fan_out))</c>.</summary>
    /// <exception cref="ShapeException">The tensor has fewer than 2 dimensions.</exception>
    public static Tensor XavierUniform(Tensor tensor, double gain = 1.0, Generator? generator = null)
    {
        var (fanIn, fanOut) = CalculateFanInAndFanOut(tensor);
        if (tensor.Numel == 0) return tensor;
        double bound = gain * Math.Sqrt(6.0 / (fanIn + fanOut));
        return Uniform(tensor, -bound, bound, generator);
    }

    /// <summary>Glorot/Xavier normal (PyTorch's <c>xavier_normal_</c>): N(0, std²) with <c>std = gain·√(2/(fan_in + fan_out))</c>.</summary>
    /// <exception cref="ShapeException">The tensor has fewer than 2 dimensions.</exception>
    public static Tensor XavierNormal(Tensor tensor, double gain = 1.0, Generator? generator = null)
    {
        var (fanIn, fanOut) = CalculateFanInAndFanOut(tensor);
        if (tensor.Numel == 0) return tensor;
        return Normal(tensor, 0.0, gain * Math.Sqrt(2.0 / (fanIn + fanOut)), generator);
    }

    /// <summary>
    /// PyTorch's default for Conv and Linear layers: <c>KaimingUniform(weight, a: √5)</c> (bound 1/√fan_in), then, when there is a
    /// bias, the bias from U(−1/√fan_in, 1/√fan_in) (zeros when fan_in is 0). The weight is drawn first, as in PyTorch.
    /// </summary>
    /// <param name="weight">Shape (Out, In, ...).</param>
    /// <param name="bias">Shape (Out), or null.</param>
    /// <param name="generator">Random source (default <see cref="Generator.Default"/>).</param>
    public static void DefaultLayerInit(Tensor weight, Tensor? bias, Generator? generator = null)
    {
        // a = sqrt(5) is the same as uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)), PyTorch's historical rule (pytorch/pytorch#57109).
        KaimingUniform(weight, a: Math.Sqrt(5.0), generator: generator);
        if (bias is null) return;
        var (fanIn, _) = CalculateFanInAndFanOut(weight);
        double bound = fanIn > 0 ? 1.0 / Math.Sqrt(fanIn) : 0.0;
        Uniform(bias, -bound, bound, generator);
    }

    private static int Fan(Tensor tensor, FanMode mode)
    {
        var (fanIn, fanOut) = CalculateFanInAndFanOut(tensor);
        return mode == FanMode.FanIn ? fanIn : fanOut;
    }
}

/// <summary>Nonlinearities for <see cref="Init.CalculateGain"/> (PyTorch's <c>nonlinearity</c> strings).</summary>
public enum Nonlinearity
{
    /// <summary>Identity; gain 1.</summary>
    Linear,
    /// <summary>A 1-D convolution with no activation; gain 1.</summary>
    Conv1d,
    /// <summary>A 2-D convolution with no activation; gain 1.</summary>
    Conv2d,
    /// <summary>Logistic sigmoid; gain 1.</summary>
    Sigmoid,
    /// <summary>Hyperbolic tangent; gain 5/3.</summary>
    Tanh,
    /// <summary>ReLU; gain √2.</summary>
    Relu,
    /// <summary>Leaky ReLU with a negative slope; gain √(2/(1+slope²)).</summary>
    LeakyRelu,
    /// <summary>SELU; gain 3/4.</summary>
    Selu,
}

/// <summary>Which fan a Kaiming initialisation preserves the variance of (PyTorch's <c>mode</c>).</summary>
public enum FanMode
{
    /// <summary>Preserve the variance of activations in the forward pass.</summary>
    FanIn,
    /// <summary>Preserve the variance of gradients in the backward pass.</summary>
    FanOut,
}
