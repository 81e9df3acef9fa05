namespace CnnSharp;

/// <summary>
/// The geometry of 2-D adaptive pooling (PyTorch's <c>adaptive_avg_pool2d</c> / <c>adaptive_max_pool2d</c>): the input
/// (N, C, H, W) is split into OutH x OutW windows whose bounds follow PyTorch's rule, validated once.
/// An unbatched input (C, H, W) is described with N = 1.
/// </summary>
/// <remarks>
/// Output row <c>i</c> covers input rows <c>[floor(i*H/OutH), ceil((i+1)*H/OutH))</c>, and likewise for columns. Windows
/// may overlap when the sizes do not divide, and they repeat rows when OutH &gt; H. With OutH = OutW = 1 this is global pooling.
/// </remarks>
public readonly record struct AdaptivePool2dGeometry
{
    /// <summary>Batch size.</summary>
    public int N { get; init; }
    /// <summary>Channels.</summary>
    public int C { get; init; }
    /// <summary>Input height.</summary>
    public int H { get; init; }
    /// <summary>Input width.</summary>
    public int W { get; init; }
    /// <summary>Output height.</summary>
    public int OutH { get; init; }
    /// <summary>Output width.</summary>
    public int OutW { get; init; }

    /// <summary>Number of (n, c) planes, N * C.</summary>
    public int Planes => N * C;

    /// <summary>First input index (inclusive) of output index <paramref name="i"/>: <c>floor(i*input/output)</c>.</summary>
    public static int Start(int i, int input, int output) => (int)((long)i * input / output);

    /// <summary>Last input index (exclusive) of output index <paramref name="i"/>: <c>ceil((i+1)*input/output)</c>.</summary>
    public static int End(int i, int input, int output) => (int)(((long)(i + 1) * input + output - 1) / output);

    /// <summary>Validates and builds the geometry.</summary>
    /// <param name="inputShape">(N, C, H, W) or (C, H, W).</param>
    /// <param name="outputSize">Output height and width, both positive.</param>
    /// <param name="op">Operator name for error messages.</param>
    /// <exception cref="ShapeException">The input rank is not 3 or 4, a non-batch dimension is empty, or an output size is not positive.</exception>
    public static AdaptivePool2dGeometry Create(ReadOnlySpan<int> inputShape, (int H, int W) outputSize, string op)
    {
        string d = $"input {Shape.Format(inputShape)}, outputSize ({outputSize.H}, {outputSize.W})";
        if (inputShape.Length is not (3 or 4)) throw new ShapeException($"{op}: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input ({d})");
        if (outputSize.H <= 0 || outputSize.W <= 0) throw new ShapeException($"{op}: output size must be positive ({d})");
        int batched = inputShape.Length - 4;
        int n = batched == 0 ? inputShape[0] : 1, c = inputShape[1 + batched], h = inputShape[2 + batched], w = inputShape[3 + batched];
        if (c <= 0 || h <= 0 || w <= 0) throw new ShapeException($"{op}: channel and spatial dimensions must be non-empty ({d})");
        return new AdaptivePool2dGeometry { N = n, C = c, H = h, W = w, OutH = outputSize.H, OutW = outputSize.W };
    }
}
