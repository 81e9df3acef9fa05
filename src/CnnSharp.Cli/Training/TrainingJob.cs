using System.Globalization;
using CnnSharp.Data;
using CnnSharp.Data.Transforms;
using CnnSharp.Models;
using CnnSharp.Modules;
using CnnSharp.Optimizers;
using CnnSharp.Optimizers.Schedulers;
using CnnSharp.Training;

namespace CnnSharp.Cli.Training;

/// <summary>
/// The whole job behind <c>cnnsharp train</c>: resolves the data set and the zoo model, builds the optimizer, schedule and
/// transforms, resumes from a checkpoint when asked, loads (fetching when absent) the data, and trains with
/// <see cref="Trainer.Fit(IDataset, IDataset, IDataset, IProgress{EpochReport}, int?, CancellationToken)"/>.
/// </summary>
/// <remarks>
/// Every checkpoint records <c>model</c> (the zoo name), <c>in_channels</c>, <c>num_classes</c>, <c>image_size</c>,
/// <c>dataset</c> and <c>classes</c> (comma-separated class names), and with <c>--normalize</c> <c>normalize_mean</c> and
/// <c>normalize_std</c> (comma-separated, per channel), so other commands can rebuild and feed the model; a resumed run
/// must agree with them (<see cref="Trainer.CheckpointMetadata"/>).
/// </remarks>
internal static class TrainingJob
{
    /// <summary>Mean and standard deviation of the MNIST training images in [0, 1] (the values the PyTorch examples use).</summary>
    private static readonly (float Mean, float Std) s_mnistStats = (0.1307f, 0.3081f);

    /// <summary>Mean and standard deviation of the Fashion-MNIST training images in [0, 1].</summary>
    private static readonly (float Mean, float Std) s_fashionStats = (0.2860f, 0.3530f);

    /// <summary>Runs the job; see the class summary.</summary>
    /// <exception cref="HyperparameterMismatchException">Resuming with a setting other than the checkpoint's.</exception>
    /// <exception cref="TrainingDivergedException">The loss or the weights became NaN or infinite; the last finite checkpoint is kept.</exception>
    /// <exception cref="ArgumentException">An option does not fit the model or the data (the message names it).</exception>
    /// <exception cref="IOException">The output cannot be written (checked before the data is loaded), or the data cannot be read.</exception>
    /// <param name="job">The settings.</param>
    /// <param name="progress">Receives each epoch's report.</param>
    /// <param name="batchProgress">Receives each training step's report.</param>
    /// <param name="fetchProgress">Receives the download of a data set that is not on disk.</param>
    /// <param name="source">The data set as <see cref="Resolve"/> found it for <paramref name="job"/>; null: resolved here.</param>
    /// <param name="cancellationToken">Stops the run between batches.</param>
    public static TrainingRun Run(TrainingJobOptions job, IProgress<EpochReport>? progress = null, IProgress<BatchReport>? batchProgress = null,
        IProgress<FetchProgress>? fetchProgress = null, DataSource? source = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(job);
        var options = job.Training;
        options.Validate();
        if (!(job.ValidationSplit >= 0 && job.ValidationSplit < 1))
            throw new ArgumentOutOfRangeException(nameof(job), job.ValidationSplit, "--val-split must be in [0, 1)");
        // Said before any data is loaded, in the options' own words (the trainer would say it only after the loading).
        string? monitored = options.EarlyStoppingPatience is not null ? "--early-stopping" : options.BestOnly ? "--best-only"
            : job.Scheduler == SchedulerKind.Plateau ? "--scheduler plateau" : null;
        if (monitored is not null && job.ValidationSplit == 0)
            throw new ArgumentException($"{monitored} watches {Trainer.MonitorName(options.Monitor)}, which needs a validation set: add --val-split (e.g. 0.1)");
        // The run's thread count applies to this run only (its call flow), not to the rest of the process.
        using var scope = job.Threads is int threads ? ExecutionOptions.Use(ExecutionOptions.Current with { Threads = threads }) : default;

        var zoo = ModelZoo.Get(job.Model);
        source ??= DataSource.Resolve(job, zoo);
        source.CheckLimits(job);
        var model = ModelZoo.Create(zoo.Name, new ZooOptions
        {
            InChannels = source.Channels, NumClasses = source.Classes.Count, ImageSize = source.ImageSize, Generator = new Generator(options.Seed),
        });
        var optimizer = Trainer.CreateOptimizer(model, options);
        int trainCount = source.TrainCount(job.Limit, job.ValidationSplit);
        var normalize = job.Normalize ? source.NormalizeTransform() : null;
        var trainer = new Trainer(model, optimizer, options)
        {
            BatchProgress = batchProgress,
            Schedule = CreateSchedule(job, optimizer, (trainCount + options.BatchSize - 1) / options.BatchSize),
            TrainTransform = Augmentation(job, source, normalize),
            EvaluationTransform = normalize,
            CheckpointMetadata = Metadata(zoo, source, normalize),
        };
        // The output is checked and locked before the data is loaded (or fetched), so a bad path fails in a second.
        using var output = trainer.OpenOutput();
        if (job.ResumeFrom is string resume) trainer.Resume(resume);

        var (fullTrain, fullTest) = source.Load(job.DataDirectory, fetchProgress, cancellationToken);
        IDataset train = Prefix(fullTrain, job.Limit);
        Subset? validation = null;
        if (job.ValidationSplit > 0) (train, validation) = DatasetSplit.TrainValidation(train, job.ValidationSplit, options.Seed);
        var test = fullTest is null ? null : Prefix(fullTest, job.TestLimit);
        if (train.Count != trainCount)
            throw new InvalidOperationException($"{source.Name}: expected {trainCount} training images, found {train.Count}");
        var reports = trainer.Fit(train, validation, test, progress, cancellationToken: cancellationToken);
        return new TrainingRun(model, optimizer, reports, zoo.Name, source.Name, train.Count, validation?.Count ?? 0, test?.Count ?? 0);
    }

    /// <summary>The data set <paramref name="job"/> names, with its geometry, classes and image counts; no image is decoded.</summary>
    /// <exception cref="ArgumentException">The model name is unknown, or the options do not fit the data set (e.g. a <c>--limit</c> past its size).</exception>
    /// <exception cref="DirectoryNotFoundException">The data set is neither MNIST, Fashion-MNIST nor an existing folder.</exception>
    public static DataSource Resolve(TrainingJobOptions job)
    {
        ArgumentNullException.ThrowIfNull(job);
        var source = DataSource.Resolve(job, ModelZoo.Get(job.Model));
        source.CheckLimits(job);
        return source;
    }

    private static IDataset Prefix(IDataset data, int? limit) =>
        limit is int n && n < data.Count ? new Subset(data, Enumerable.Range(0, n).ToArray()) : data;

    private static Dictionary<string, string> Metadata(ZooModel zoo, DataSource source, Normalize? normalize)
    {
        var inv = CultureInfo.InvariantCulture;
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["model"] = zoo.Name,
            ["in_channels"] = source.Channels.ToString(inv),
            ["num_classes"] = source.Classes.Count.ToString(inv),
            ["image_size"] = source.ImageSize.ToString(inv),
            ["dataset"] = source.Name,
            ["classes"] = string.Join(",", source.Classes),
        };
        if (normalize is not null)
        {
            metadata["normalize_mean"] = string.Join(",", normalize.Mean.Select(v => v.ToString("R", inv)));
            metadata["normalize_std"] = string.Join(",", normalize.Std.Select(v => v.ToString("R", inv)));
        }
        return metadata;
    }

    /// <summary>
    /// The training transform: random crop, horizontal flip, affine (in that order; <c>--augment standard</c> is a crop
    /// padded by 2 pixels for images up to 28 pixels and 4 above, plus a flip unless the data set is MNIST's digits, whose
    /// meaning a mirror changes), then the normalisation; null when none applies.
    /// </summary>
    internal static ITransform? Augmentation(TrainingJobOptions job, DataSource source, Normalize? normalize)
    {
        var transforms = new List<ITransform>();
        int? padding = job.RandomCropPadding ?? (job.StandardAugmentation ? (source.ImageSize <= 28 ? 2 : 4) : null);
        if (padding is int p) transforms.Add(new RandomCrop(source.ImageSize, p));
        if (job.HorizontalFlip || (job.StandardAugmentation && source.Name != "mnist")) transforms.Add(new RandomHorizontalFlip());
        if (job.Affine) transforms.Add(new RandomAffine(10f, translate: (0.1f, 0.1f), scale: (0.9f, 1.1f)));
        if (normalize is not null) transforms.Add(normalize);
        return transforms.Count switch
        {
            0 => null,
            1 => transforms[0],
            _ => new Compose([.. transforms]),
        };
    }

    /// <summary>The schedule <paramref name="job"/> asks for, or null; its name records its settings (a resumed run must match).</summary>
    internal static LrSchedule? CreateSchedule(TrainingJobOptions job, Optimizer optimizer, int batchesPerEpoch)
    {
        var inv = CultureInfo.InvariantCulture;
        int epochs = job.Training.Epochs, warmup = job.WarmupEpochs;
        if (warmup < 0 || (warmup > 0 && warmup >= epochs))
            throw new ArgumentException($"--warmup-epochs must be from 0 to --epochs - 1 ({epochs - 1}), got {warmup}");
        string g = job.Gamma.ToString("R", inv), min = job.MinLr.ToString("R", inv);
        switch (job.Scheduler)
        {
            case SchedulerKind.OneCycle:
            {
                double pct = warmup > 0 ? (double)warmup / epochs : 0.3;
                int total = epochs * batchesPerEpoch;
                var oneCycle = new OneCycleLr(optimizer, job.Training.LearningRate, total, pct);
                return LrSchedule.Create(oneCycle, ScheduleInterval.Batch,
                    $"onecycle(max_lr={job.Training.LearningRate.ToString("R", inv)},total_steps={total},pct_start={pct.ToString("R", inv)})");
            }
            case SchedulerKind.Plateau:
            {
                if (warmup > 0) throw new ArgumentException("--warmup-epochs does not combine with --scheduler plateau");
                var mode = job.Training.Monitor == MonitorMetric.ValLoss ? PlateauMode.Min : PlateauMode.Max;
                var plateau = new ReduceLrOnPlateau(optimizer, mode, job.Gamma, job.PlateauPatience, minLr: job.MinLr);
                return LrSchedule.OnPlateau(plateau, $"plateau(monitor={Trainer.MonitorName(job.Training.Monitor)},factor={g},patience={job.PlateauPatience},min_lr={min})");
            }
        }
        // The warm-up is built first: SequentialLr, like PyTorch's, expects its schedulers in order.
        var warm = warmup > 0 ? new LinearLr(optimizer, 0.1, 1.0, warmup) : null;
        string prefix = warmup > 0 ? $"warmup({warmup})+" : "";
        LrScheduler? main = null;
        string name = "";
        switch (job.Scheduler)
        {
            case SchedulerKind.Step:
                main = new StepLr(optimizer, job.StepSize, job.Gamma);
                name = $"step(step_size={job.StepSize},gamma={g})";
                break;
            case SchedulerKind.MultiStep:
                main = new MultiStepLr(optimizer, Milestones(job.Milestones, warmup), job.Gamma);
                name = $"multistep(milestones={string.Join(";", job.Milestones)},gamma={g})";
                break;
            case SchedulerKind.Cosine:
                main = new CosineAnnealingLr(optimizer, epochs - warmup, job.MinLr);
                name = $"cosine(t_max={epochs - warmup},eta_min={min})";
                break;
        }
        if (main is null) return warm is null ? null : LrSchedule.Create(warm, ScheduleInterval.Epoch, $"warmup({warmup})");
        if (warm is null) return LrSchedule.Create(main, ScheduleInterval.Epoch, name);
        return LrSchedule.Create(new SequentialLr(optimizer, [warm, main], [warmup]), ScheduleInterval.Epoch, prefix + name);
    }

    // The main schedule of a warm-up chain counts its epochs from the end of the warm-up; --milestones are absolute epochs.
    private static int[] Milestones(IReadOnlyList<int> milestones, int warmup)
    {
        if (milestones.Count == 0) throw new ArgumentException("--scheduler multistep needs --milestones (e.g. --milestones 30,60)");
        if (milestones.Any(m => m <= warmup))
            throw new ArgumentException($"--milestones must be after the {warmup}-epoch warm-up, got {string.Join(",", milestones)}");
        return [.. milestones.Select(m => m - warmup)];
    }

    /// <summary>
    /// Where the images come from: MNIST, Fashion-MNIST, or an image folder (one sub-folder per class; or <c>train/</c> and
    /// optionally <c>test/</c> folders of those), with the image geometry and class names known before any image is decoded.
    /// </summary>
    internal sealed class DataSource
    {
        private readonly ImageFolder? _train, _test;

        private DataSource(string name, int channels, int size, IReadOnlyList<string> classes, int trainImages, int testImages, ImageFolder? train, ImageFolder? test)
        {
            Name = name;
            Channels = channels;
            ImageSize = size;
            Classes = classes;
            TrainImages = trainImages;
            TestImages = testImages;
            _train = train;
            _test = test;
        }

        /// <summary>Images in the whole training set (before <c>--limit</c> and the validation split).</summary>
        public int TrainImages { get; }

        /// <summary>Images in the whole test set; 0 for a folder without <c>test/</c>.</summary>
        public int TestImages { get; }

        /// <summary><c>mnist</c>, <c>fashion-mnist</c>, or the image folder's full path.</summary>
        public string Name { get; }
        public int Channels { get; }
        public int ImageSize { get; }
        public IReadOnlyList<string> Classes { get; }

        public static DataSource Resolve(TrainingJobOptions job, ZooModel zoo)
        {
            string dataset = job.Dataset;
            if (dataset is "mnist" or "fashion-mnist")
            {
                if ((job.Channels ?? 1) != 1 || (job.ImageSize ?? 28) != 28)
                    throw new ArgumentException($"--channels and --image-size apply to image folders; {dataset} has 1x28x28 images");
                IReadOnlyList<string> classes = dataset == "mnist" ? [.. Enumerable.Range(0, Mnist.NumClasses).Select(i => i.ToString(CultureInfo.InvariantCulture))]
                    : FashionMnist.ClassNames;
                // The files are checked against their digests when loaded, so these counts are exact.
                return new DataSource(dataset, 1, 28, classes, 60_000, 10_000, null, null);
            }
            if (!Directory.Exists(dataset))
                throw new DirectoryNotFoundException(File.Exists(dataset)
                    ? $"--dataset {dataset}: is a file; expected mnist, fashion-mnist or an image folder (one sub-folder of images per class)"
                    : $"--dataset {dataset}: expected mnist, fashion-mnist or an image folder, and no such folder exists");
            int channels = job.Channels ?? zoo.InChannels, size = job.ImageSize ?? zoo.ImageSize;
            string trainRoot = Path.Combine(dataset, "train"), testRoot = Path.Combine(dataset, "test");
            bool split = Directory.Exists(trainRoot);
            var train = Open(split ? trainRoot : dataset, channels, size);
            var test = split && Directory.Exists(testRoot) ? Open(testRoot, channels, size) : null;
            if (test is not null && !test.Classes.SequenceEqual(train.Classes))
                throw new ArgumentException($"{testRoot}: its class folders ({string.Join(", ", test.Classes)}) differ from {trainRoot}'s ({string.Join(", ", train.Classes)})");
            // One class folder trains a "classifier" whose loss is 0 from the first step and that answers that class for every
            // image; refused here (exit 1), before the output is touched.
            if (train.Classes.Count < 2)
                throw new ArgumentException($"--dataset {dataset}: has {train.Classes.Count} class folder ({string.Join(", ", train.Classes)}); a classifier needs at least 2 (one sub-folder of images per class)");
            return new DataSource(Path.GetFullPath(dataset), channels, size, train.Classes, train.Count, test?.Count ?? 0, train, test);
        }

        // Decoded images are kept in memory when they fit in 1 GiB, so later epochs do not decode them again.
        private static ImageFolder Open(string root, int channels, int size)
        {
            var listed = new ImageFolder(root, channels, size, size);
            bool cache = (long)listed.Count * channels * size * size * sizeof(float) <= 1L << 30;
            return cache ? new ImageFolder(root, channels, size, size, cache: true) : listed;
        }

        /// <summary>
        /// Refuses a <c>--limit</c> or <c>--test-limit</c> past this data set's size (bounds are refused, not clamped,
        /// like every numeric option; the parser cannot check them, the size being this data set's).
        /// </summary>
        /// <exception cref="ArgumentException">A limit exceeds the images there are, a test limit is given for a folder without
        /// <c>test/</c>, or <c>--val-split</c> leaves no training image or holds out none.</exception>
        public void CheckLimits(TrainingJobOptions job)
        {
            var inv = CultureInfo.InvariantCulture;
            if (job.Limit is int l && l > TrainImages)
                throw new ArgumentException($"--limit {l.ToString("N0", inv)}: {Name} has {TrainImages.ToString("N0", inv)} training images");
            if (job.TestLimit is int t && t > TestImages)
                throw new ArgumentException(TestImages == 0 ? $"--test-limit: {Name} has no test set (no test/ folder)"
                    : $"--test-limit {t.ToString("N0", inv)}: {Name} has {TestImages.ToString("N0", inv)} test images");
            // A split that leaves one side empty would train nothing (loss NaN, untrained weights saved, exit 0) or report a
            // NaN validation loss every epoch; said here, before any image is loaded, in the options' words.
            if (job.ValidationSplit > 0)
            {
                int n = job.Limit is int lim ? Math.Min(lim, TrainImages) : TrainImages;
                int train = TrainCount(job.Limit, job.ValidationSplit);
                string split = job.ValidationSplit.ToString(inv);
                if (train == 0)
                    throw new ArgumentException($"--val-split {split}: leaves no training image (all {n.ToString("N0", inv)} of {Name}'s training images would be held out for validation)");
                if (train == n)
                    throw new ArgumentException($"--val-split {split}: holds out no image ({Name} has {n.ToString("N0", inv)} training images; use a larger fraction or omit --val-split)");
            }
        }

        /// <summary>Training images after the limit and the validation split (as <see cref="DatasetSplit.TrainValidation"/> counts them).</summary>
        public int TrainCount(int? limit, double validationSplit)
        {
            int n = limit is int l ? Math.Min(l, TrainImages) : TrainImages;
            return n - (int)Math.Round(n * validationSplit, MidpointRounding.ToEven);
        }

        /// <summary>The normalisation for this data: published statistics for the MNIST sets, the training images' own for a folder.</summary>
        public Normalize NormalizeTransform()
        {
            if (_train is null)
            {
                var (mean, std) = Name == "mnist" ? s_mnistStats : s_fashionStats;
                return new Normalize([mean], [std]);
            }
            var sum = new double[Channels];
            var squares = new double[Channels];
            long perChannel = 0;
            int plane = ImageSize * ImageSize;
            foreach (var batch in new DataLoader(_train, 256, reuseBuffers: true).Batches(0))
            {
                var data = batch.Images.Data;
                for (int i = 0; i < batch.Count; i++)
                {
                    for (int c = 0; c < Channels; c++)
                    {
                        foreach (float v in data.Slice((i * Channels + c) * plane, plane))
                        {
                            sum[c] += v;
                            squares[c] += (double)v * v;
                        }
                    }
                }
                perChannel += (long)batch.Count * plane;
            }
            var means = new float[Channels];
            var stds = new float[Channels];
            for (int c = 0; c < Channels; c++)
            {
                double m = sum[c] / perChannel;
                means[c] = (float)m;
                // A constant channel would divide by zero; 1 leaves it centred only.
                double s = Math.Sqrt(Math.Max(0, squares[c] / perChannel - m * m));
                stds[c] = s > 1e-6 ? (float)s : 1f;
            }
            return new Normalize(means, stds);
        }

        /// <summary>The training and test sets (test null for a folder without <c>test/</c>).</summary>
        public (IDataset Train, IDataset? Test) Load(string? directory, IProgress<FetchProgress>? progress, CancellationToken cancellationToken)
        {
            if (_train is not null) return (_train, _test);
            var data = Name == "mnist"
                ? Mnist.Load(directory, fetch: true, progress, cancellationToken)
                : FashionMnist.Load(directory, fetch: true, progress, cancellationToken);
            return (data.Train, data.Test);
        }
    }
}

/// <summary>The outcome of <see cref="TrainingJob.Run"/>.</summary>
/// <param name="Model">The trained network.</param>
/// <param name="Optimizer">Its optimizer, with its state.</param>
/// <param name="Reports">One report per epoch run.</param>
/// <param name="ModelName">The zoo name of the model.</param>
/// <param name="Dataset">The data set: <c>mnist</c>, <c>fashion-mnist</c> or the image folder's path.</param>
/// <param name="TrainCount">Training images per epoch.</param>
/// <param name="ValidationCount">Validation images evaluated per epoch (0 without <c>--val-split</c>).</param>
/// <param name="TestCount">Test images evaluated per epoch.</param>
internal sealed record TrainingRun(Module Model, Optimizer Optimizer, IReadOnlyList<EpochReport> Reports, string ModelName, string Dataset,
    int TrainCount, int ValidationCount, int TestCount);
