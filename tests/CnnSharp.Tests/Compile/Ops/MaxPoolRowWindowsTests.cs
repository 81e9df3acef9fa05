using CnnSharp.Compile.Ops;
using CnnSharp.Modules;
using CnnSharp.Tests.TestUtilities;
using Xunit;

namespace CnnSharp.Tests.Compile.Ops;

/// <summary>
/// <see cref="MaxPool2dOp.RowWindows"/>: training plans run 1-D max pooling with stride = kernel on the row kernel, with
/// the same bits (loss, every gradient, running statistics) as the general kernel, for 1-3 threads.
/// </summary>
[Collection(nameof(PlanSwitchGroup))]
public sealed class MaxPoolRowWindowsTests
{
    private static Sequential Net(Generator g) => new(
        new Conv1d(3, 8, 5, padding: 2, generator: g), new BatchNorm1d(8), new ReLU(), new MaxPool1d(2),
        new Conv1d(8, 8, 3, generator: g), new ReLU(), new MaxPool1d(3), new Flatten(), new Linear(8 * 7, 4, generator: g));

    private static float[][] Step(bool rows)
    {
        MaxPool2dOp.RowWindows = rows;
        try
        {
            var model = Net(new Generator(4));
            int[] shape = [5, 3, 47];
            var compiled = model.Compile(shape);
            Assert.Contains("MaxPool1d(2/2)", compiled.Describe(shape), StringComparison.Ordinal);
            var x = Tensor.Randn(new Generator(5), shape);
            // Ties and NaN-free repeats: rounded inputs make equal window values common.
            for (int i = 0; i < x.Numel; i++) x.Data[i] = MathF.Round(x.Data[i] * 2) / 2;
            float loss = compiled.TrainStep(x, [0, 1, 2, 3, 0]);
            return [[loss], .. model.Parameters().Select(p => p.Grad!.ToArray()), .. model.NamedBuffers().Select(b => b.Value.ToArray())];
        }
        finally
        {
            MaxPool2dOp.RowWindows = true;
        }
    }

    [Fact]
    public void Row_windows_give_the_general_kernels_bits_for_any_thread_count()
    {
        var general = ThreadCount.With(1, () => Step(rows: false));
        ThreadCount.AssertInvariant(() =>
        {
            var rows = Step(rows: true);
            Assert.Equal(general.Length, rows.Length);
            for (int i = 0; i < general.Length; i++) Assert.Equal(general[i], rows[i]);
            return rows;
        });
    }
}
