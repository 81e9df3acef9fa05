using CnnSharp.Kernels;
using CnnSharp.Onnx;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Onnx;

/// <summary>
/// The inference fast paths of <see cref="OnnxSession"/>: convolution weights packed once at load (only for constant
/// weights, only at the level they were packed for) and MaxPool without its Indices output.
/// </summary>
public sealed class OnnxFastPathTests
{
    private static readonly ConvCase Case = new(2, 3, 9, 8, 5, 3, 3, (1, 1), (1, 1, 1, 1), (1, 1), 1, true);

    private static double[] Reference(float[] x, float[] w, float[] b) =>
        TestUtilities.Reference.Conv2d(TensorAssert.ToDouble(x), TensorAssert.ToDouble(w), TensorAssert.ToDouble(b),
            Case.InputShape, Case.WeightShape, Case.Stride, Case.Pads, Case.Dilation, Case.Groups, out _);

    /// <summary>y = Conv(x, w, b) with w and b initializers; <paramref name="weightsAreInputs"/> also lists them as graph inputs (overridable).</summary>
    private static OnnxTestGraph ConvGraph(bool weightsAreInputs)
    {
        var graph = new OnnxTestGraph().Input("x", "N", 3, 9, 8);
        if (weightsAreInputs) graph.Input("w", 5, 3, 3, 3).Input("b", 5);
        return graph
            .Initializer("w", ConvCases.Weight(Case), 5, 3, 3, 3)
            .Initializer("b", ConvCases.Bias(Case), 5)
            .Node("Conv", "conv", ["x", "w", "b"], ["y"], ("kernel_shape", new long[] { 3, 3 }), ("pads", new long[] { 1, 1, 1, 1 }))
            .Output("y");
    }

    [Fact]
    public void Constant_weights_packed_at_load_give_the_reference_at_every_level()
    {
        var session = ConvGraph(weightsAreInputs: false).Session();
        var x = ConvCases.Input(Case);
        var expected = Reference(x, ConvCases.Weight(Case), ConvCases.Bias(Case));
        foreach (var level in new[] { IsaLevel.Scalar, IsaLevel.V256, IsaLevel.V512 })
        {
            // The weights were packed for the process's level; another level repacks them for its own tile.
            using var _ = Isa.Use(level);
            var y = session.Run(Tensor.FromArray(x, Case.InputShape)).ToArray();
            TensorAssert.Close(expected, y, Tolerance.Accumulated, level.ToString());
        }
    }

    [Fact]
    public void Overridden_weights_are_used_instead_of_a_stale_packed_copy()
    {
        var session = ConvGraph(weightsAreInputs: true).Session();
        var x = ConvCases.Input(Case);
        var byDefault = session.Run(Tensor.FromArray(x, Case.InputShape)).ToArray();
        TensorAssert.Close(Reference(x, ConvCases.Weight(Case), ConvCases.Bias(Case)), byDefault, Tolerance.Accumulated, "default weights");

        // The same weight array, changed in place between runs, must be read again (nothing may cache its packing).
        var w = ConvCases.Weight(Case).Select(v => -2 * v).ToArray();
        var b = ConvCases.Bias(Case);
        var weights = Tensor.FromArray(w, Case.WeightShape);
        var inputs = new Dictionary<string, Tensor> { ["x"] = Tensor.FromArray(x, Case.InputShape), ["w"] = weights, ["b"] = Tensor.FromArray(b, 5) };
        TensorAssert.Close(Reference(x, w, b), session.Run(inputs)["y"].ToArray(), Tolerance.Accumulated, "overridden weights");
        weights.Data.Fill(0.25f);
        TensorAssert.Close(Reference(x, weights.ToArray(), b), session.Run(inputs)["y"].ToArray(), Tolerance.Accumulated, "weights changed in place");
    }

    [Fact]
    public void MaxPool_without_indices_matches_maxpool_with_indices()
    {
        var x = GradCheck.RandomValues(2 * 4 * 15 * 15, 21);
        float[] Pool(bool indices)
        {
            var graph = new OnnxTestGraph().Input("x", 2, 4, 15, 15)
                .Node("MaxPool", "pool", ["x"], indices ? ["y", "i"] : ["y"],
                    ("kernel_shape", new long[] { 3, 3 }), ("strides", new long[] { 2, 2 }), ("pads", new long[] { 1, 1, 1, 1 }))
                .Output("y");
            if (indices) graph.Output("i");
            return graph.Session().Run(Tensor.FromArray(x, 2, 4, 15, 15)).ToArray();
        }
        Assert.Equal(Pool(indices: true), Pool(indices: false));
    }
}
