namespace CnnSharp;

/// <summary>What a state load (<see cref="Modules.Module.LoadStateDict(StateDict, bool)"/>, safetensors, .pt files) left
/// unmatched: PyTorch's <c>_IncompatibleKeys</c>.</summary>
/// <param name="MissingKeys">Model keys the source did not hold (empty after a strict load).</param>
/// <param name="UnexpectedKeys">Source keys the model does not have (empty after a strict load).</param>
public sealed record StateDictLoadResult(IReadOnlyList<string> MissingKeys, IReadOnlyList<string> UnexpectedKeys);
