namespace CnnSharp.Training;

/// <summary>Which optimizer <see cref="Trainer"/> builds.</summary>
public enum OptimizerKind
{
    /// <summary><see cref="Optimizers.Adam"/> (the tutorial's choice).</summary>
    Adam,

    /// <summary><see cref="Optimizers.Sgd"/> with <see cref="TrainingOptions.Momentum"/>.</summary>
    Sgd,
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

    /// <summary>Momentum for <see cref="OptimizerKind.Sgd"/> (ignored by Adam).</summary>
    public float Momentum { get; init; }

    /// <summary>Seed of the weight initialisation and of the shuffling order.</summary>
    public ulong Seed { get; init; }

    /// <summary>Folder holding (or receiving) the MNIST files; null means the data layer's default cache folder.</summary>
    public string? DataDirectory { get; init; }

    /// <summary>Where the checkpoint is written after every epoch; null writes none.</summary>
    public string? OutputPath { get; init; } = "convnet.safetensors";

    /// <summary>A checkpoint to resume from: its weights, optimizer state and epoch; training continues with the next epoch.</summary>
    public string? ResumeFrom { get; init; }

    /// <summary>
    /// When resuming, accept a seed, batch size, learning rate, optimizer or momentum that differs from the one the
    /// checkpoint recorded (e.g. to lower the learning rate on purpose). Off by default: a changed value throws
    /// <see cref="HyperparameterMismatchException"/>, because a silently changed setting makes the resumed run differ from
    /// the one that wrote the checkpoint.
    /// </summary>
    public bool AllowChangedHyperparameters { get; init; }

    /// <summary>Threads the kernels may use during this run (a scoped <see cref="ExecutionOptions"/>, not a process-wide
    /// change); null keeps <see cref="ExecutionOptions.Current"/> (all cores by default).</summary>
    public int? Threads { get; init; }

    /// <summary>Train on only the first this many training images (quick runs); null uses all 60,000.</summary>
    public int? Limit { get; init; }

    /// <summary>Evaluate on only the first this many test images; null uses all 10,000.</summary>
    public int? TestLimit { get; init; }

    /// <summary>
    /// Train and evaluate on the compiled executor (<see cref="Modules.Module.Compile"/>: planned buffers, fused conv chains,
    /// graph breaks for ops without a compiled form) instead of the eager autograd path; the results are the same up to
    /// float32 rounding. Set false to force the eager path.
    /// </summary>
    public bool FastPath { get; init; } = true;

    /// <summary>Images per batch during evaluation (larger is faster; it does not change the results).</summary>
    public int EvaluationBatchSize { get; init; } = 1000;

    /// <summary>Throws when a setting is out of range, naming it.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A setting is out of range.</exception>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(Epochs, nameof(Epochs));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(BatchSize, nameof(BatchSize));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(EvaluationBatchSize, nameof(EvaluationBatchSize));
        if (!(LearningRate > 0f) || !float.IsFinite(LearningRate))
            throw new ArgumentOutOfRangeException(nameof(LearningRate), LearningRate, "must be finite and > 0");
        if (!(Momentum >= 0f) || !float.IsFinite(Momentum))
            throw new ArgumentOutOfRangeException(nameof(Momentum), Momentum, "must be finite and >= 0");
        if (!Enum.IsDefined(Optimizer)) throw new ArgumentOutOfRangeException(nameof(Optimizer), Optimizer, "unknown optimizer");
        if (Threads is int t) ArgumentOutOfRangeException.ThrowIfNegativeOrZero(t, nameof(Threads));
        if (Limit is int l) ArgumentOutOfRangeException.ThrowIfNegativeOrZero(l, nameof(Limit));
        if (TestLimit is int tl) ArgumentOutOfRangeException.ThrowIfNegativeOrZero(tl, nameof(TestLimit));
    }
}
