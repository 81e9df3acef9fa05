namespace CnnSharp.Benchmarks.Models;

/// <summary>How CnnSharp runs a model's training step and eval forward in the <c>models</c> benchmark.</summary>
internal enum ExecutionPath
{
    /// <summary>The Module API on the autograd engine: <c>Trainer.TrainStep</c> with the fast path off, forward under no-grad.</summary>
    Eager,

    /// <summary>The compiled executor, <c>model.Compile(...)</c>, selected by <c>--compiled</c>.</summary>
    Compiled,
}
