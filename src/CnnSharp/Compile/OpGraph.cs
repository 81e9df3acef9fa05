namespace CnnSharp.Compile;

/// <summary>
/// The graph a plan is built from: nodes (an <see cref="OpSpec"/>, the values it reads, the value it writes) in
/// execution order over numbered values with known shapes. Value 0 is the plan input; constants are values whose
/// buffer is given (never written, never shared). Produced by tracing a module (<see cref="PlanBuilder.Build"/>) or by
/// importing an ONNX graph (<c>Onnx.OnnxPlanner</c>), consumed by <see cref="PlanBuilder.BuildFromGraph"/>.
/// </summary>
/// <param name="Shapes">Each value's shape, indexed by value id.</param>
/// <param name="Constants">The buffers of constant values by id (for example a tensor an Add reads that no op produced).</param>
/// <param name="Nodes">The nodes in execution order.</param>
/// <param name="Output">The value the plan returns (not 0 and not a constant).</param>
internal sealed record OpGraph(List<Shape> Shapes, Dictionary<int, float[]> Constants, List<PlanBuilder.GraphNode> Nodes, int Output);
