using System.Diagnostics.CodeAnalysis;

// Analyzer findings suppressed on single members, each with its reason. Rules switched off for the whole build are in
// Directory.Build.props; test-only ones in tests/.editorconfig (docs/architecture.md "Analyzers and code style").

[assembly: SuppressMessage("Naming", "CA1716:Identifiers should not match keywords", Scope = "type",
    Target = "~T:CnnSharp.Modules.Module",
    Justification = "PyTorch's name for the base of every layer; that it is a Visual Basic keyword does not outweigh the vocabulary users bring.")]
[assembly: SuppressMessage("Naming", "CA1716:Identifiers should not match keywords", Scope = "member",
    Target = "~M:CnnSharp.Optimizers.Optimizer.Step",
    Justification = "PyTorch's optimizer.step(); a Visual Basic keyword, overridden only from C#.")]
[assembly: SuppressMessage("Naming", "CA1707:Identifiers should not contain underscores", Scope = "member",
    Target = "~M:CnnSharp.Tensor.RequiresGrad_(System.Boolean)",
    Justification = "PyTorch's trailing underscore marks an in-place method (requires_grad_); the name keeps that meaning.")]
[assembly: SuppressMessage("Usage", "CA2201:Do not raise reserved exception types", Scope = "member",
    Target = "~M:CnnSharp.Shape.FlatIndex(System.Int32[],System.String)",
    Justification = "An out-of-range tensor index fails like an out-of-range array index (IndexOutOfRangeException), which callers of the indexer expect.")]
