using CnnSharp.Compile;
using CnnSharp.Tests.TestUtilities;
using Xunit;

namespace CnnSharp.Tests.Compile.Ops;

/// <summary>
/// The compiled concat and strided-copy ops (<see cref="ConcatSpec"/>, <see cref="GatherCopySpec"/>) in a differentiable
/// plan: forward against an index map (the input holds each element's own index, so every output says where it was
/// read from) and backward against the scatter of dy through that map, on 1 to 3 threads with the same bits.
/// </summary>
public sealed class DataMovementOpTests
{
    // x (2, 6, 3, 4) -> transpose (0, 2, 1, 3) -> (2, 3, 6, 4); channel slice [2, 6) of x -> (2, 4, 3, 4) -> as (2, 3, 4, 4)
    // after a transpose (0, 2, 1, 3); concat of the two along dim 2 -> (2, 3, 10, 4); then a shuffle-style copy with a
    // step-2 slice of the last dimension -> (2, 3, 10, 2).
    private static ExecutionPlan Plan()
    {
        var shapes = new List<Shape>
        {
            new(2, 6, 3, 4), new(2, 3, 6, 4), new(2, 4, 3, 4), new(2, 3, 4, 4), new(2, 3, 10, 4), new(2, 3, 10, 2),
        };
        var nodes = new List<PlanBuilder.GraphNode>
        {
            new(new GatherCopySpec([2, 3, 6, 4], [72, 4, 12, 1], 0), [0], 1),
            new(new GatherCopySpec([2, 4, 3, 4], [72, 12, 4, 1], 24), [0], 2),
            new(new GatherCopySpec([2, 3, 4, 4], [48, 4, 12, 1], 0), [2], 3),
            new(new ConcatSpec(2), [1, 3], 4),
            new(new GatherCopySpec([2, 3, 10, 2], [120, 40, 4, 2], 1), [4], 5),
        };
        return PlanBuilder.BuildFromGraph(new OpGraph(shapes, [], nodes, 5), differentiable: true, inputRequiresGrad: true, []);
    }

    [Fact]
    public void Forward_reads_each_output_from_its_source_and_backward_scatters_dy_back()
    {
        var plan = Plan();
        var x = Enumerable.Range(0, 2 * 6 * 3 * 4).Select(i => (float)i).ToArray();

        plan.Forward(x);
        var y = plan.Data[plan.Output];
        var dy = Enumerable.Range(0, y.Length).Select(i => 1f + i % 7).ToArray();
        dy.CopyTo(plan.Grad[plan.Output]!, 0);
        plan.Backward();

        // Reference forward, written out from the shapes: y[n, h, j, w2] = concat_j(x[n, c, h, w]...)[.., 2·w2 + 1].
        var expected = new float[y.Length];
        int k = 0;
        for (int n = 0; n < 2; n++)
            for (int h = 0; h < 3; h++)
                for (int j = 0; j < 10; j++)
                    for (int w2 = 0; w2 < 2; w2++)
                    {
                        int c = j < 6 ? j : 2 + (j - 6);
                        expected[k++] = ((n * 6 + c) * 3 + h) * 4 + 2 * w2 + 1;
                    }
        Assert.Equal(expected, y);
        var dx = new float[x.Length];
        for (int i = 0; i < y.Length; i++) dx[(int)y[i]] += dy[i];
        Assert.Equal(dx, plan.Grad[0]);
    }

    [Fact]
    public void Forward_and_backward_have_the_same_bits_on_any_thread_count()
    {
        var x = Tensor.Randn(new Generator(3), 2, 6, 3, 4).ToArray();
        ThreadCount.AssertInvariant(() =>
        {
            var plan = Plan();
            plan.Forward(x);
            var grad = plan.Grad[plan.Output]!;
            for (int i = 0; i < grad.Length; i++) grad[i] = MathF.Sin(i);
            plan.Backward();
            return [(float[])plan.Data[plan.Output].Clone(), (float[])plan.Grad[0]!.Clone()];
        });
    }
}
