namespace CnnSharp.Autograd;

/// <summary>
/// A recorded operation in the autograd graph: it knows its inputs and how to push an output gradient back to them.
/// </summary>
/// <remarks>
/// Each op defines its node beside its forward (in <c>Functional/F.Xxx.cs</c>). A node stores only what its backward
/// needs. <see cref="Backward"/> must <em>accumulate</em> (<c>+=</c>) into the gradients of inputs that require grad.
/// </remarks>
public abstract class Node
{
    private readonly Tensor[] _inputs;

    /// <summary>Creates a node over the op's tensor inputs (those that gradients may flow to).</summary>
    protected Node(params Tensor[] inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        _inputs = inputs;
    }

    /// <summary>The op's tensor inputs.</summary>
    public IReadOnlyList<Tensor> Inputs => _inputs;

    /// <summary>The op's name, for diagnostics (e.g. <c>Conv2dBackward</c>).</summary>
    public virtual string Name => GetType().Name;

    /// <summary>Accumulates input gradients given <paramref name="gradOutput"/>, the gradient of the op's output.</summary>
    protected internal abstract void Backward(Tensor gradOutput);

    /// <summary>The input's gradient buffer to accumulate into (zero-filled on first use), or an empty span if it needs no grad.</summary>
    protected static Span<float> GradOf(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return input.RequiresGrad ? input.GradSpanForAccumulate() : Span<float>.Empty;
    }

    /// <summary>As <see cref="GradOf"/>, as the backing array (for kernels split over threads), or null if it needs no grad.</summary>
    private protected static float[]? GradStorageOf(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (!input.RequiresGrad) return null;
        input.GradSpanForAccumulate();
        return input.Grad!.Storage;
    }
}
