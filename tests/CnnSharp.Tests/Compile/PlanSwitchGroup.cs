namespace CnnSharp.Tests.Compile;

/// <summary>
/// Test classes that flip the planner's process-wide switches (<c>PlanBuilder.BlockedResiduals</c>,
/// <c>StridedInferenceChains</c>, <c>ConvChainOp.MinSplitMacs</c>) to compare plans: they run alone, not beside other classes,
/// which would otherwise build their plans under the flipped switch (a split test once saw no split that way).
/// </summary>
[CollectionDefinition(nameof(PlanSwitchGroup), DisableParallelization = true)]
public sealed class PlanSwitchGroup;
