using System.Diagnostics;
using CnnSharp.Onnx;
using CnnSharp.Onnx.Runtime;
using static CnnSharp.Onnx.Protos.TensorProto.Types;

namespace CnnSharp.Tests.Onnx;

/// <summary>
/// Shapes read from a model file cannot make the runtime allocate without bound: constant folding at load spends one
/// element budget (<see cref="OnnxSessionOptions.MaxFoldedElements"/>) and every value computed at run time is checked
/// against <see cref="OnnxSessionOptions.MaxTensorElements"/>, both before the allocation.
/// </summary>
public sealed class OnnxResourceLimitTests
{
    private const long OneMiB = 1 << 20;

    /// <summary>Runs <paramref name="action"/> and returns the bytes this thread allocated meanwhile.</summary>
    private static long AllocatedBy(Action action)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        action();
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }

    [Fact]
    public void A_shape_with_a_zero_dimension_has_no_elements_however_large_the_dimensions_before_it_are()
    {
        Assert.Equal(0, OnnxValue.Numel([2, 1073741823, 0]));
        Assert.Equal(0, OnnxValue.Numel([2, 1073741823, 0, 942058, 240103822]));
        Assert.Equal(6, OnnxValue.Numel([2, 3]));
        Assert.Throws<ShapeException>(() => OnnxValue.Numel([2, 1073741823, 2]));
        Assert.Throws<ShapeException>(() => OnnxValue.Numel([0, -1]));
    }

    [Fact]
    public void Fuzz_finding_an_empty_initializer_with_huge_dimensions_gets_the_models_own_typed_error()
    {
        // 537 bytes (fuzz/corpus/onnx/zero-dim-initializer.onnx, CI fuzz run of stop 16): an initializer of shape
        // (2, 1073741823, 0, ...) and no data. Its element count is 0, but the running product overflowed before the zero
        // and a ShapeException escaped session construction; now the load reaches the model's real defect.
        string path = Path.Combine(AppContext.BaseDirectory, "Fixtures", "fuzz", "onnx-zero-dim-initializer.onnx");
        var error = Assert.Throws<OnnxFormatException>(() => new OnnxSession(OnnxModel.Parse(File.ReadAllBytes(path), "fuzz.onnx")));
        Assert.Contains("attribute 'kernel_shape' is FLOATS, expected INTS", error.Message);
    }

    [Fact]
    public void Hostile_constant_of_shape_model_from_the_fuzz_corpus_is_rejected_at_load_without_allocating_it()
    {
        // 163 bytes (fuzz/corpus/onnx/folded-40000x40000.onnx): a Constant shape (40000, 40000) -> ConstantOfShape -> ReduceSum,
        // all constant; folding it took 12 GB (6.4 GB of float32 at least) before the folding budget.
        string path = Path.Combine(AppContext.BaseDirectory, "Fixtures", "fuzz", "onnx-constant-of-shape-40000x40000.onnx");
        Assert.True(new FileInfo(path).Length < 200);
        OnnxFormatException? error = null;
        var clock = Stopwatch.StartNew();

        long allocated = AllocatedBy(() => error = Assert.Throws<OnnxFormatException>(() => OnnxSession.Load(path)));

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"load took {clock.Elapsed}");
        Assert.True(allocated < 16 * OneMiB, $"load allocated {allocated} bytes");
        Assert.Contains("ConstantOfShape", error!.Message);
        Assert.Contains("(40000, 40000)", error.Message);
        Assert.Contains("1600000000 elements", error.Message);
        Assert.Contains("MaxFoldedElements = 67108864", error.Message);
        Assert.Contains("while folding constants at load time", error.Message);
    }

    [Fact]
    public void Hostile_constant_of_shape_model_loads_and_runs_when_the_budget_allows_it()
    {
        var graph = FoldedConstantOfShape(200, 300);

        // 60000 elements for the fill, one for the sum.
        var session = graph.Session(new OnnxSessionOptions { MaxFoldedElements = 60_001 });

        Assert.Equal(0, session.ExecutedNodeCount);
        Assert.Equal(0f, session.Run(new Dictionary<string, Tensor>())["y"].ToArray()[0]);
        Assert.Throws<OnnxFormatException>(() => graph.Session(new OnnxSessionOptions { MaxFoldedElements = 60_000 }));
    }

    [Fact]
    public void Folding_budget_is_spent_over_all_nodes_and_the_error_names_the_node_that_overran_it()
    {
        // Ten folded vectors of 1000 elements each: the budget of 5500 runs out at the sixth.
        var graph = new OnnxTestGraph().Initializer("s", new long[] { 1000 }, 1);
        for (int i = 0; i < 10; i++) graph.Node("ConstantOfShape", $"fill{i}", ["s"], [$"c{i}"]);
        graph.Node("Sum", "total", Enumerable.Range(0, 10).Select(i => $"c{i}").ToArray(), ["y"]).Output("y");

        var error = Assert.Throws<OnnxFormatException>(() => graph.Session(new OnnxSessionOptions { MaxFoldedElements = 5500 }));

        Assert.Contains("fill5", error.Message);
        Assert.Contains("the 500 elements left of the constant-folding budget", error.Message);
        Assert.NotNull(graph.Session(new OnnxSessionOptions { MaxFoldedElements = 11_000 }));
    }

    [Fact]
    public void Outputs_of_one_node_cannot_overrun_the_folding_budget_together()
    {
        // 100 folded elements leave 50: each half of the Split fits in them, both together do not.
        var graph = new OnnxTestGraph().Initializer("s", new long[] { 100 }, 1)
            .Node("ConstantOfShape", "fill", ["s"], ["c"])
            .Node("Split", "halves", ["c"], ["a", "b"], ("axis", 0L))
            .Node("Add", "add", ["a", "b"], ["y"]).Output("y");

        var error = Assert.Throws<OnnxFormatException>(() => graph.Session(new OnnxSessionOptions { MaxFoldedElements = 150 }));

        Assert.Contains("halves", error.Message);
        Assert.Contains("200 elements, more than the budget of 150", error.Message);
        Assert.NotNull(graph.Session(new OnnxSessionOptions { MaxFoldedElements = 250 }));
    }

    [Fact]
    public void Constant_nodes_do_not_spend_the_folding_budget()
    {
        // Their values are already in the file; only values computed at load count.
        var values = new CnnSharp.Onnx.Protos.TensorProto { DataType = (int)DataType.Float, Dims = { 100 } };
        values.FloatData.Add(new float[100]);
        var graph = new OnnxTestGraph().Node("Constant", "weights", [], ["w"], ("value", values)).Output("w");

        var session = graph.Session(new OnnxSessionOptions { MaxFoldedElements = 10 });

        Assert.Equal(100, session.Run(new Dictionary<string, Tensor>())["w"].Numel);
    }

    [Fact]
    public void Expand_to_a_file_given_shape_is_refused_at_run_time_before_allocating_it()
    {
        var session = new OnnxTestGraph().Input("x", 1).Initializer("shape", new long[] { 40000, 40000 }, 2)
            .Node("Expand", "grow", ["x", "shape"], ["y"]).Output("y").Session();
        ShapeException? error = null;

        long allocated = AllocatedBy(() => error = Assert.Throws<ShapeException>(() => session.Run(Tensor.FromArray([1f], 1))));

        Assert.True(allocated < 16 * OneMiB, $"run allocated {allocated} bytes");
        Assert.Contains("grow", error!.Message);
        Assert.Contains("(40000, 40000)", error.Message);
        Assert.Contains("268435456 elements per tensor (OnnxSessionOptions.MaxTensorElements)", error.Message);
    }

    [Theory]
    [InlineData("Tile")]
    [InlineData("Pad")]
    public void Tile_and_pad_check_the_output_size_before_building_their_index_maps(string op)
    {
        // The maps are one output dimension long each: 2e9 ints (8 GB) before the fix, for a refused output.
        var graph = new OnnxTestGraph().Input("x", 1, 1);
        graph = op == "Tile"
            ? graph.Initializer("k", new long[] { 1, 2_000_000_000 }, 2).Node("Tile", "big", ["x", "k"], ["y"])
            : graph.Initializer("k", new long[] { 0, 0, 0, 2_000_000_000 }, 4).Node("Pad", "big", ["x", "k"], ["y"]);
        var session = graph.Output("y").Session(new OnnxSessionOptions { MaxTensorElements = 1000 });
        ShapeException? error = null;

        long allocated = AllocatedBy(() => error = Assert.Throws<ShapeException>(() => session.Run(Tensor.FromArray([1f], 1, 1))));

        Assert.True(allocated < 16 * OneMiB, $"run allocated {allocated} bytes");
        Assert.Contains(op == "Tile" ? "(1, 2000000000)" : "(1, 2000000001)", error!.Message);
        Assert.Contains("limit of 1000 elements", error.Message);
    }

    [Fact]
    public void Tile_to_an_empty_output_builds_no_index_map_for_its_other_dimensions()
    {
        var session = new OnnxTestGraph().Input("x", "n", 1).Initializer("k", new long[] { 1, 2_000_000_000 }, 2)
            .Node("Tile", "t", ["x", "k"], ["y"]).Output("y").Session();
        Tensor? y = null;

        long allocated = AllocatedBy(() => y = session.Run(Tensor.Zeros(0, 1)));

        Assert.True(allocated < 16 * OneMiB, $"run allocated {allocated} bytes");
        Assert.Equal([0, 2_000_000_000], y!.Shape.ToArray());
    }

    [Theory]
    [InlineData(0L, 1L)]
    [InlineData(1L, -1L)]
    public void Limits_must_be_positive(long maxTensorElements, long maxFoldedElements)
    {
        var graph = new OnnxTestGraph().Input("x", 1).Node("Relu", "r", ["x"], ["y"]).Output("y");

        Assert.Throws<ArgumentOutOfRangeException>(() =>
            graph.Session(new OnnxSessionOptions { MaxTensorElements = maxTensorElements, MaxFoldedElements = maxFoldedElements }));
    }

    /// <summary>ConstantOfShape to (rows, cols) then ReduceSum to a scalar, every value a constant.</summary>
    internal static OnnxTestGraph FoldedConstantOfShape(long rows, long cols) =>
        new OnnxTestGraph().Initializer("s", new long[] { rows, cols }, 2)
            .Node("ConstantOfShape", "fill", ["s"], ["c"])
            .Node("ReduceSum", "sum", ["c"], ["y"], ("keepdims", 0L)).Output("y");
}
