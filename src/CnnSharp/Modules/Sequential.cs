namespace CnnSharp.Modules;

/// <summary>Chains modules: the output of each is the input of the next (PyTorch's <c>nn.Sequential</c>); children are named "0", "1", ...</summary>
public sealed class Sequential : Module
{
    private readonly List<Module> _layers = [];

    /// <summary>Creates the chain from <paramref name="layers"/> in order.</summary>
    public Sequential(params Module[] layers)
    {
        ArgumentNullException.ThrowIfNull(layers);
        foreach (var layer in layers) Append(layer);
    }

    /// <summary>Appends a layer named by its position; returns this.</summary>
    public Sequential Append(Module layer)
    {
        RegisterModule(_layers.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), layer);
        _layers.Add(layer);
        return this;
    }

    /// <summary>Number of layers.</summary>
    public int Count => _layers.Count;

    /// <summary>The layer at <paramref name="index"/>.</summary>
    public Module this[int index] => _layers[index];

    /// <summary>The layers in order.</summary>
    public IReadOnlyList<Module> Layers => _layers;

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        var x = input;
        foreach (var layer in _layers) x = layer.Call(x);
        return x;
    }
}
