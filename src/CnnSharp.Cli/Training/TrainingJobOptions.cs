using CnnSharp.Training;

namespace CnnSharp.Cli.Training;

/// <summary>The learning-rate schedules <c>cnnsharp train --scheduler</c> offers.</summary>
internal enum SchedulerKind
{
    None,
    Step,
    MultiStep,
    Cosine,
    OneCycle,
    Plateau,
}

/// <summary>
/// Settings of a <see cref="TrainingJob"/>: which model on which data, and how the data is prepared; the loop itself is
/// set by <see cref="Training"/>. The defaults are the tutorial's run (ConvNet on MNIST, no augmentation).
/// </summary>
internal sealed record TrainingJobOptions
{
    /// <summary>The loop's settings (epochs, optimizer, checkpoint, early stopping, metrics log...).</summary>
    /// <remarks>The CLI's defaults are the library's except <see cref="TrainingOptions.NumWorkers"/>: 1, one thread preparing the
    /// next batch while the step runs (the batches are the same for any count; see TrainCommand's --workers).</remarks>
    public TrainingOptions Training { get; init; } = new() { NumWorkers = 1 };

    /// <summary>A model-zoo name (<see cref="Models.ModelZoo.Names"/>).</summary>
    public string Model { get; init; } = "convnet";

    /// <summary><c>mnist</c>, <c>fashion-mnist</c>, or the path of an image folder (one sub-folder per class, or <c>train/</c> and <c>test/</c> folders of those).</summary>
    public string Dataset { get; init; } = "mnist";

    /// <summary>Folder holding (or receiving) the MNIST or Fashion-MNIST files; null: the data layer's default folder.</summary>
    public string? DataDirectory { get; init; }

    /// <summary>Side of the square images an image folder is resized to; null: the model's design size.</summary>
    public int? ImageSize { get; init; }

    /// <summary>Channels an image folder is decoded to (1 or 3); null: the model's default.</summary>
    public int? Channels { get; init; }

    /// <summary>Train on only the first this many training images; null: all.</summary>
    public int? Limit { get; init; }

    /// <summary>Evaluate on only the first this many test images; null: all.</summary>
    public int? TestLimit { get; init; }

    /// <summary>Fraction of the training images held out (seeded by <see cref="TrainingOptions.Seed"/>) for validation; 0: none.</summary>
    public double ValidationSplit { get; init; }

    /// <summary>The standard augmentation for the data set (see docs/training.md): random crop, and a horizontal flip except for digits.</summary>
    public bool StandardAugmentation { get; init; }

    /// <summary>Random crop with this zero padding on each side; null: none (or the standard one).</summary>
    public int? RandomCropPadding { get; init; }

    /// <summary>Random horizontal flip (p = 0.5).</summary>
    public bool HorizontalFlip { get; init; }

    /// <summary>Random affine: rotation up to 10 degrees, shift up to 10%, scale 0.9 to 1.1.</summary>
    public bool Affine { get; init; }

    /// <summary>Normalise every channel by the training split's mean and standard deviation (training and evaluation).</summary>
    public bool Normalize { get; init; }

    /// <summary>The learning-rate schedule.</summary>
    public SchedulerKind Scheduler { get; init; }

    /// <summary>Epochs of linear warm-up (from 0.1 x lr) before the schedule; for one-cycle, the rising phase.</summary>
    public int WarmupEpochs { get; init; }

    /// <summary>Step schedule: epochs between decays.</summary>
    public int StepSize { get; init; } = 10;

    /// <summary>Multi-step schedule: the epochs at which the rate decays.</summary>
    public IReadOnlyList<int> Milestones { get; init; } = [];

    /// <summary>Decay factor of the step, multi-step and plateau schedules.</summary>
    public double Gamma { get; init; } = 0.1;

    /// <summary>Lowest rate of the cosine and plateau schedules.</summary>
    public double MinLr { get; init; }

    /// <summary>Plateau schedule: epochs without improvement before a decay.</summary>
    public int PlateauPatience { get; init; } = 2;

    /// <summary>Threads the kernels may use (a scoped setting); null: all cores.</summary>
    public int? Threads { get; init; }

    /// <summary>A checkpoint to resume from.</summary>
    public string? ResumeFrom { get; init; }
}
