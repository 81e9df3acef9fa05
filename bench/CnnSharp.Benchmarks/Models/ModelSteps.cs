using CnnSharp.Autograd;
using CnnSharp.Modules;
using CnnSharp.Optimizers;
using CnnSharp.Training;

namespace CnnSharp.Benchmarks.Models;

/// <summary>
/// The two functions the <c>models</c> benchmark times, built in one place for every execution path: a training step
/// (forward, cross-entropy, backward, Adam step; returns the loss) and an eval forward at batch (no gradients recorded;
/// the caller switches the model to eval mode first).
/// </summary>
internal sealed record ModelSteps(Func<Tensor, int[], float> Step, Func<Tensor, Tensor> Eval)
{
    /// <summary>Adam's learning rate, as in the PyTorch peer.</summary>
    public const float LearningRate = 1e-3f;

    /// <summary>Builds the step and the eval forward of <paramref name="model"/> on <paramref name="path"/>.</summary>
    /// <exception cref="NotSupportedException">The path cannot run this model, or is not in this build.</exception>
    public static ModelSteps Build(Module model, ExecutionPath path, int[] inputShape)
    {
        var optimizer = new Adam(model.Parameters(), LearningRate);
        switch (path)
        {
            case ExecutionPath.Eager:
            {
                var trainer = new Trainer(model, optimizer, new TrainingOptions { FastPath = false });
                return new ModelSteps(trainer.TrainStep, x =>
                {
                    using (GradMode.NoGrad()) return model.Forward(x);
                });
            }
            case ExecutionPath.Compiled:
            {
                var compiled = model.Compile(inputShape);
                if (compiled.FallbackReason is string reason) throw new NotSupportedException($"--compiled: {model.GetType().Name} runs eagerly: {reason}");
                return new ModelSteps((x, y) =>
                {
                    float loss = compiled.TrainStep(x, y);
                    optimizer.Step();
                    return loss;
                }, x =>
                {
                    using (GradMode.NoGrad()) return compiled.Forward(x);
                });
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(path), path, "unknown execution path");
        }
    }
}
