using CnnSharp.Autograd;
using CnnSharp.Compile;
using CnnSharp.Data;
using CnnSharp.Functional;
using CnnSharp.Modules;

namespace CnnSharp.Training;

/// <summary>Measures a classifier's accuracy and mean cross-entropy on a data set, in evaluation mode without autograd.</summary>
public static class Evaluator
{
    /// <summary>
    /// Runs <paramref name="model"/> over <paramref name="data"/> in evaluation mode (batch norm uses its running statistics)
    /// inside <see cref="GradMode.NoGrad"/>; the model's previous train/eval mode is restored afterwards.
    /// </summary>
    /// <param name="model">A classifier producing logits (N, classes).</param>
    /// <param name="data">Labelled samples.</param>
    /// <param name="batchSize">Samples per forward pass; it changes speed and memory, not the result.</param>
    /// <param name="cancellationToken">Stops between batches.</param>
    /// <returns>Accuracy in [0, 1] and mean loss per sample (NaN for an empty data set).</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="batchSize"/> is not positive.</exception>
    public static EvaluationResult Evaluate(Module model, IDataset data, int batchSize = 1000, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        return Evaluate(model, model.Forward, data, batchSize, null, cancellationToken);
    }

    /// <summary>
    /// As <see cref="Evaluate(CompiledModel, IDataset, int, CancellationToken)"/>, also counting every prediction (<see cref="Tensor.ArgMax"/> of the
    /// logits) against its label in a confusion matrix with per-class precision, recall and F1.
    /// </summary>
    /// <param name="model">The compiled classifier; its logits must have <paramref name="numClasses"/> columns.</param>
    /// <param name="data">Labelled samples with labels in 0..<paramref name="numClasses"/>-1.</param>
    /// <param name="numClasses">The number of classes K (the matrix is K x K even when some class never occurs).</param>
    /// <param name="batchSize">Samples per forward pass.</param>
    /// <param name="cancellationToken">Stops between batches.</param>
    /// <returns>The accuracy and loss, and the metrics.</returns>
    /// <exception cref="ArgumentException">The logits do not have <paramref name="numClasses"/> columns.</exception>
    public static (EvaluationResult Result, ClassificationMetrics Metrics) EvaluateClassification(
        CompiledModel model, IDataset data, int numClasses, int batchSize = 1000, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        var metrics = new ClassificationMetrics(numClasses);
        return (Evaluate(model.Module, model.Forward, data, batchSize, metrics, cancellationToken), metrics);
    }

    /// <summary>
    /// As <see cref="EvaluateClassification(CompiledModel, IDataset, int, int, CancellationToken)"/> for any forward
    /// function (an ONNX session's run, a wrapped model), run as given: the caller puts a module in evaluation mode and
    /// turns autograd off if the function needs it.
    /// </summary>
    /// <param name="forward">Maps a batch (N, ...SampleShape) to logits (N, <paramref name="numClasses"/>).</param>
    /// <param name="data">Labelled samples with labels in 0..<paramref name="numClasses"/>-1.</param>
    /// <param name="numClasses">The number of classes K.</param>
    /// <param name="batchSize">Samples per call of <paramref name="forward"/>.</param>
    /// <param name="cancellationToken">Stops between batches.</param>
    /// <returns>The accuracy and loss, and the metrics.</returns>
    /// <exception cref="ArgumentException">The logits do not have <paramref name="numClasses"/> columns.</exception>
    public static (EvaluationResult Result, ClassificationMetrics Metrics) EvaluateClassification(
        Func<Tensor, Tensor> forward, IDataset data, int numClasses, int batchSize = 1000, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(forward);
        var metrics = new ClassificationMetrics(numClasses);
        return (Evaluate(null, forward, data, batchSize, metrics, cancellationToken), metrics);
    }

    private static EvaluationResult Evaluate(Module? model, Func<Tensor, Tensor> forward, IDataset data, int batchSize,
        ClassificationMetrics? metrics, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        bool wasTraining = model?.Training ?? false;
        model?.Eval();
        try
        {
            using var noGrad = GradMode.NoGrad();
            double lossSum = 0;
            int correct = 0, count = 0;
            foreach (var batch in new DataLoader(data, batchSize, reuseBuffers: true).Batches(0))
            {
                cancellationToken.ThrowIfCancellationRequested();
                var logits = forward(batch.Images);
                lossSum += F.CrossEntropy(logits, batch.Labels, Reduction.Sum).Item();
                if (metrics is not null && logits.Size(1) != metrics.NumClasses)
                    throw new ArgumentException($"Evaluate: the model gives {logits.Size(1)} logits per sample, expected {metrics.NumClasses} classes");
                var predicted = logits.ArgMax(1);
                for (int i = 0; i < predicted.Length; i++)
                {
                    if (predicted[i] == batch.Labels[i]) correct++;
                    metrics?.Add(predicted[i], batch.Labels[i]);
                }
                count += batch.Count;
            }
            return count == 0
                ? new EvaluationResult(double.NaN, double.NaN, 0, 0)
                : new EvaluationResult((double)correct / count, lossSum / count, correct, count);
        }
        finally
        {
            model?.Train(wasTraining);
        }
    }

    /// <summary>
    /// As <see cref="Evaluate(Module, IDataset, int, CancellationToken)"/>, running the compiled model's planned inference
    /// (the module is put in eval mode for the evaluation and restored afterwards).
    /// </summary>
    /// <param name="model">The compiled model.</param>
    /// <param name="data">The labelled images.</param>
    /// <param name="batchSize">Images per forward pass.</param>
    /// <param name="cancellationToken">Stops between batches.</param>
    /// <returns>Accuracy and mean cross-entropy over <paramref name="data"/>.</returns>
    public static EvaluationResult Evaluate(CompiledModel model, IDataset data, int batchSize = 1000, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        return Evaluate(model.Module, model.Forward, data, batchSize, null, cancellationToken);
    }
}
