using CnnSharp.Cli.Rendering;
using CnnSharp.Cli.Training;

namespace CnnSharp.Tests.Cli;

/// <summary>The settings line <c>cnnsharp train</c> prints before it starts.</summary>
public sealed class TrainingHeaderTests
{
    private static string Header(TrainingJobOptions options)
    {
        var writer = new StringWriter();
        new TrainingView(CliRunner.PlainConsole(writer, 400)).Header(options);
        return writer.ToString();
    }

    [Fact]
    public void Limits_past_the_data_set_print_the_number_of_images_used()
    {
        // Before: "first 99,999,999 images" for a set of 60,000.
        string header = Header(new TrainingJobOptions { Limit = 99_999_999, TestLimit = 20_000, Threads = 1 });
        Assert.Contains("seed 0, 1 thread(s), first 60,000 training images, first 10,000 test images", header, StringComparison.Ordinal);
    }

    [Fact]
    public void Limits_inside_the_data_set_print_as_given()
    {
        string header = Header(new TrainingJobOptions { Limit = 1_500, TestLimit = 10_000, Threads = 1 });
        Assert.Contains("first 1,500 training images, first 10,000 test images", header, StringComparison.Ordinal);
        Assert.DoesNotContain("first", Header(new TrainingJobOptions { Threads = 1 }), StringComparison.Ordinal);
    }
}
