namespace CnnSharp.Modules;

/// <summary>One row of a <see cref="ModelSummary"/>: one call of one module during the summarised forward pass.</summary>
/// <param name="Name">The module's dotted path in the model (<c>layer1.0.conv1</c>); "" for the model itself.</param>
/// <param name="Type">The module's class name (<c>Conv2d</c>).</param>
/// <param name="Depth">Call depth: 0 for the model, 1 for what it calls, and so on.</param>
/// <param name="OutputShape">The shape of the tensor the call returned, batch dimension included.</param>
/// <param name="Parameters">Elements of the module's parameters, its descendants' included (each tensor counted once).</param>
/// <param name="MultAdds">Multiply-accumulates of this call, its nested calls' included (definition: <see cref="ModelSummary"/>).</param>
/// <param name="IsLeaf">True when the call made no observed nested module call.</param>
public sealed record LayerSummary(string Name, string Type, int Depth, IReadOnlyList<int> OutputShape, long Parameters, long MultAdds, bool IsLeaf);
