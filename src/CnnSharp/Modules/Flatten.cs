using CnnSharp.Functional;

namespace CnnSharp.Modules;

/// <summary>Flattens a range of dimensions (PyTorch's <c>nn.Flatten</c>, which starts at dim 1 to keep the batch dimension).</summary>
/// <remarks>(N, C, H, W) becomes (N, C*H*W) with the defaults; the output is a view (see <see cref="F.Flatten"/>). No parameters.</remarks>
/// <example><code>var flat = new Flatten(); // (N, 32, 7, 7) -> (N, 1568)</code></example>
public sealed class Flatten : Module
{
    /// <summary>Creates the layer.</summary>
    /// <param name="startDim">First dimension to merge; negative counts from the end.</param>
    /// <param name="endDim">Last dimension to merge (inclusive).</param>
    public Flatten(int startDim = 1, int endDim = -1)
    {
        StartDim = startDim;
        EndDim = endDim;
    }

    /// <summary>First merged dimension.</summary>
    public int StartDim { get; }
    /// <summary>Last merged dimension.</summary>
    public int EndDim { get; }

    /// <summary>Flattens <paramref name="input"/>.</summary>
    /// <exception cref="ShapeException">A dimension is out of range for the input.</exception>
    public override Tensor Forward(Tensor input) => F.Flatten(input, StartDim, EndDim);

    /// <inheritdoc />
    protected override string ExtraRepr() => $"start_dim={StartDim}, end_dim={EndDim}";
}
