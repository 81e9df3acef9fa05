namespace CnnSharp.Training;

/// <summary>
/// Follows the monitored validation metric epoch by epoch for early stopping and best-only checkpoints: the best value so
/// far, its epoch, and the epochs since (Keras' <c>EarlyStopping</c> bookkeeping).
/// </summary>
/// <param name="metric">Lower is better for <see cref="MonitorMetric.ValLoss"/>, higher for <see cref="MonitorMetric.ValAccuracy"/>.</param>
/// <param name="minDelta">An improvement must exceed the best by more than this.</param>
internal sealed class MonitorTracker(MonitorMetric metric, double minDelta)
{
    /// <summary>The best value so far; NaN before the first finite one.</summary>
    public double Best { get; private set; } = double.NaN;

    /// <summary>The epoch of <see cref="Best"/>; 0 before the first.</summary>
    public int BestEpoch { get; private set; }

    /// <summary>Epochs since the last improvement.</summary>
    public int BadEpochs { get; private set; }

    /// <summary>Records <paramref name="value"/> for <paramref name="epoch"/>; true when it improved on the best (the first finite value always does, NaN never).</summary>
    public bool Update(int epoch, double value)
    {
        bool improved = double.IsFinite(value) && (double.IsNaN(Best)
            || (metric == MonitorMetric.ValLoss ? value < Best - minDelta : value > Best + minDelta));
        if (improved) (Best, BestEpoch, BadEpochs) = (value, epoch, 0);
        else BadEpochs++;
        return improved;
    }

    /// <summary>Whether <paramref name="patience"/> epochs have passed without improvement (never when null).</summary>
    public bool Exhausted(int? patience) => patience is int p && BadEpochs >= p;

    /// <summary>Restores the state saved in a checkpoint.</summary>
    public void Restore(double best, int bestEpoch, int badEpochs) => (Best, BestEpoch, BadEpochs) = (best, bestEpoch, badEpochs);
}
