using CnnSharp.Cli.Training;
using CnnSharp.Data;
using CnnSharp.Training;

namespace CnnSharp.Tests.EndToEnd;

/// <summary>The training loop on real MNIST (fetched into the default cache on first use), small enough for seconds.</summary>
public sealed class MnistTrainingTests : IDisposable
{
    private readonly string _checkpoint = Path.Combine(Path.GetTempPath(), $"cnnsharp-e2e-{Guid.NewGuid():N}.safetensors");

    public void Dispose() => File.Delete(_checkpoint);

    [Fact]
    public void One_epoch_on_6000_images_reaches_90_percent_on_1000_test_images()
    {
        var options = new TrainingOptions
        {
            Epochs = 1, BatchSize = 100, Seed = 0, Limit = 6000, TestLimit = 1000, OutputPath = _checkpoint,
            DataDirectory = Mnist.DefaultDirectory,
        };
        var run = TrainingJob.Run(options);
        var report = Assert.Single(run.Reports);
        Assert.Equal(6000, report.TrainImages);
        Assert.Equal(1000, run.TestCount);
        // 60 Adam steps with the seed's settings. PyTorch 1.13 on the same images reaches 93.0-93.9% on these 1000 test
        // images (8 seeds; with 3000 images it is 83-90%, too noisy to test); CnnSharp gave 92.8-94.5% for seeds 0-3.
        Assert.True(report.TestAccuracy >= 0.90, $"test accuracy {report.TestAccuracy:P2} after one epoch on 6000 images");
        Assert.True(report.TrainLoss < 1.0, $"train loss {report.TrainLoss}");
        Assert.True(File.Exists(_checkpoint));
    }
}
