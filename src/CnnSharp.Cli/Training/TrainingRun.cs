using CnnSharp.Models;
using CnnSharp.Optimizers;
using CnnSharp.Training;

namespace CnnSharp.Cli.Training;

/// <summary>The outcome of <see cref="TrainingJob.Run"/>.</summary>
/// <param name="Model">The trained network.</param>
/// <param name="Optimizer">Its optimizer, with its state.</param>
/// <param name="Reports">One report per epoch run.</param>
/// <param name="TrainCount">Training images per epoch.</param>
/// <param name="TestCount">Test images evaluated per epoch.</param>
public sealed record TrainingRun(ConvNet Model, Optimizer Optimizer, IReadOnlyList<EpochReport> Reports, int TrainCount, int TestCount);
