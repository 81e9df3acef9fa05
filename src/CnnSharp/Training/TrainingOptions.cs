namespace CnnSharp.Training;

/// <summary>Which optimizer <see cref="Trainer"/> builds.</summary>
public enum OptimizerKind
{
    /// <summary><see cref="Optimizers.Adam"/> (the tutorial's choice).</summary>
    Adam,

    /// <summary><see cref="Optimizers.Sgd"/> with <see cref="TrainingOptions.Momentum"/> (and <see cref="TrainingOptions.Nesterov"/>).</summary>
    Sgd,

    /// <summary><see cref="Optimizers.AdamW"/> (decoupled weight decay, 0.01 unless <see cref="TrainingOptions.WeightDecay"/> says otherwise).</summary>
    AdamW,

    /// <summary><see cref="Optimizers.RmsProp"/> with <see cref="TrainingOptions.Momentum"/>.</summary>
    RmsProp,
}

/// <summary>The validation metric that early stopping, best-only checkpoints and a plateau schedule watch.</summary>
public enum MonitorMetric
{
    /// <summary>Mean cross-entropy on the validation set; lower is better.</summary>
    ValLoss,

    /// <summary>Fraction of the validation set classified correctly; higher is better.</summary>
    ValAccuracy,
}

/// <summary>Settings of a training run; the defaults are the tutorial's (5 epochs, batch 100, Adam, learning rate 0.001).</summary>
public sealed record TrainingOptions
{
    /// <summary>Number of passes over the training set.</summary>
    public int Epochs { get; init; } = 5;

    /// <summary>Images per mini-batch.</summary>
    public int BatchSize { get; init; } = 100;

    /// <summary>The optimizer's learning rate.</summary>
    public float LearningRate { get; init; } = 0.001f;

    /// <summary>The optimizer.</summary>
    public OptimizerKind Optimizer { get; init; } = OptimizerKind.Adam;

    /// <summary>Momentum for <see cref="OptimizerKind.Sgd"/> and <see cref="OptimizerKind.RmsProp"/> (ignored by Adam and AdamW).</summary>
    public float Momentum { get; init; }

    /// <summary>Weight decay: an L2 penalty added to the gradient (Adam, SGD, RMSprop) or AdamW's decoupled decay; null: the
    /// optimizer's default (0, and 0.01 for AdamW).</summary>
    public float? WeightDecay { get; init; }

    /// <summary>Nesterov momentum for <see cref="OptimizerKind.Sgd"/> (needs <see cref="Momentum"/> &gt; 0).</summary>
    public bool Nesterov { get; init; }

    /// <summary>
    /// Label smoothing ε of the training loss (PyTorch's <c>CrossEntropyLoss(label_smoothing=ε)</c>): the target of each
    /// sample is <c>(1 − ε)·onehot + ε/C</c>; in [0, 1), default 0. Evaluation losses (test, validation) stay the plain
    /// cross-entropy, so they compare across runs with different ε.
    /// </summary>
    public float LabelSmoothing { get; init; }

    /// <summary>Clip the gradients' global 2-norm to this value after every backward pass (<see cref="Optimizers.GradClip.ClipGradNorm"/>), before the optimizer step; null: no clipping.</summary>
    public float? ClipGradNorm { get; init; }

    /// <summary>
    /// Stop when <see cref="Monitor"/> has not improved by more than <see cref="MinDelta"/> for this many epochs in a row (Keras'
    /// <c>EarlyStopping(patience)</c>); null: run every epoch. Needs a validation set.
    /// </summary>
    public int? EarlyStoppingPatience { get; init; }

    /// <summary>The smallest change of <see cref="Monitor"/> that counts as an improvement (for early stopping and best-only checkpoints), &gt;= 0.</summary>
    public double MinDelta { get; init; }

    /// <summary>The validation metric watched by early stopping, <see cref="BestOnly"/> and a plateau schedule.</summary>
    public MonitorMetric Monitor { get; init; } = MonitorMetric.ValLoss;

    /// <summary>Write the checkpoint only after an epoch whose <see cref="Monitor"/> improved, so the file holds the best epoch
    /// so far (Keras' <c>save_best_only</c>); otherwise after every epoch. Needs a validation set.</summary>
    public bool BestOnly { get; init; }

    /// <summary>A JSON Lines file receiving one object per epoch (<see cref="MetricsLog"/>), flushed after each; null: none.</summary>
    public string? MetricsLogPath { get; init; }

    /// <summary>Threads of the training data loader (<see cref="Data.DataLoader.NumWorkers"/>): 0 loads on the training thread.</summary>
    public int NumWorkers { get; init; }

    /// <summary>Seed of the weight initialisation and of the shuffling order.</summary>
    public ulong Seed { get; init; }

    /// <summary>Where the checkpoint is written after every epoch (or only improving ones, <see cref="BestOnly"/>); null writes none.</summary>
    public string? OutputPath { get; init; } = "convnet.safetensors";

    /// <summary>
    /// When resuming (<see cref="Trainer.Resume"/>), accept a seed, batch size, learning rate, optimizer, momentum, weight decay,
    /// schedule or model/data setting (<see cref="Trainer.CheckpointMetadata"/>) that differs from the one the
    /// checkpoint recorded (e.g. to lower the learning rate on purpose). Off by default: a changed value throws
    /// <see cref="HyperparameterMismatchException"/>, because a silently changed setting makes the resumed run differ from
    /// the one that wrote the checkpoint.
    /// </summary>
    public bool AllowChangedHyperparameters { get; init; }

    /// <summary>
    /// Train and evaluate on the compiled executor (<see cref="Modules.Module.Compile"/>: planned buffers, fused conv chains,
    /// graph breaks for ops without a compiled form) instead of the eager autograd path; the results are the same up to
    /// float32 rounding. Set false to force the eager path.
    /// </summary>
    public bool FastPath { get; init; } = true;

    /// <summary>Images per batch during evaluation (larger is faster; it does not change the results).</summary>
    public int EvaluationBatchSize { get; init; } = 1000;

    /// <summary>
    /// Evaluate on the test set after every this many epochs, and always after the last epoch a run trains (the final one,
    /// or the one early stopping ends on); other epochs report no test metrics (NaN; null in the metrics log). Keras'
    /// <c>validation_freq</c> for the test set: the validation split, which early stopping and the plateau schedule watch,
    /// is still evaluated every epoch. Default 1 (every epoch).
    /// </summary>
    public int TestEvery { get; init; } = 1;

    /// <summary>Throws when a setting is out of range, naming it.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A setting is out of range.</exception>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(Epochs, nameof(Epochs));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(BatchSize, nameof(BatchSize));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(EvaluationBatchSize, nameof(EvaluationBatchSize));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(TestEvery, nameof(TestEvery));
        if (!(LearningRate > 0f) || !float.IsFinite(LearningRate))
            throw new ArgumentOutOfRangeException(nameof(LearningRate), LearningRate, "must be finite and > 0");
        if (!(Momentum >= 0f) || !float.IsFinite(Momentum))
            throw new ArgumentOutOfRangeException(nameof(Momentum), Momentum, "must be finite and >= 0");
        if (!Enum.IsDefined(Optimizer)) throw new ArgumentOutOfRangeException(nameof(Optimizer), Optimizer, "unknown optimizer");
        if (WeightDecay is float wd && (!(wd >= 0f) || !float.IsFinite(wd)))
            throw new ArgumentOutOfRangeException(nameof(WeightDecay), wd, "must be finite and >= 0");
        if (!(LabelSmoothing >= 0f && LabelSmoothing < 1f))
            throw new ArgumentOutOfRangeException(nameof(LabelSmoothing), LabelSmoothing, "must be in [0, 1)");
        if (ClipGradNorm is float clip && (!(clip > 0f) || !float.IsFinite(clip)))
            throw new ArgumentOutOfRangeException(nameof(ClipGradNorm), clip, "must be finite and > 0");
        if (EarlyStoppingPatience is int p) ArgumentOutOfRangeException.ThrowIfNegativeOrZero(p, nameof(EarlyStoppingPatience));
        if (!(MinDelta >= 0) || double.IsInfinity(MinDelta)) throw new ArgumentOutOfRangeException(nameof(MinDelta), MinDelta, "must be finite and >= 0");
        if (!Enum.IsDefined(Monitor)) throw new ArgumentOutOfRangeException(nameof(Monitor), Monitor, "unknown metric");
        ArgumentOutOfRangeException.ThrowIfNegative(NumWorkers, nameof(NumWorkers));
    }
}
