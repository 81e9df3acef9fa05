using CnnSharp.IO;
using CnnSharp.Onnx;
using CnnSharp.Tests.TestUtilities;
using Xunit.Abstractions;

namespace CnnSharp.Tests.Onnx;

/// <summary>Loads every model and test-data tensor of the conformance suite (parsing only; execution comes with the ops).</summary>
public sealed class OnnxConformanceLoadTests(ITestOutputHelper output)
{
    [Fact]
    public void Every_conformance_model_loads_and_its_test_data_matches_the_declared_inputs_and_outputs()
    {
        var models = ConformanceData.Cases().Select(c => ConformanceData.PathOf([.. c.Split('/'), "model.onnx"])).ToList();
        var failures = new List<string>();
        int tensorFiles = 0;
        foreach (string path in models)
        {
            try
            {
                var model = OnnxModel.Load(path);
                string data = Path.Combine(Path.GetDirectoryName(path)!, "test_data_set_0");
                tensorFiles += CheckTensors(data, "input", model.Graph.RuntimeInputs);
                tensorFiles += CheckTensors(data, "output", model.Graph.Outputs);
            }
            catch (Exception e) when (e is OnnxFormatException or InvalidOperationException)
            {
                failures.Add($"{path}: {e.Message}");
            }
        }
        output.WriteLine($"conformance: {models.Count - failures.Count} of {models.Count} models loaded, {tensorFiles} test-data tensors checked");
        foreach (string f in failures) output.WriteLine(f);

        Assert.True(models.Count >= 100, $"expected the conformance suite's models, found {models.Count}");
        Assert.Empty(failures);
    }

    /// <summary>Reads <c>{kind}_N.pb</c> and checks each against the declared value it feeds or is compared with.</summary>
    private static int CheckTensors(string folder, string kind, IReadOnlyList<OnnxValueInfo> declared)
    {
        var files = Enumerable.Range(0, 1000).Select(i => Path.Combine(folder, $"{kind}_{i}.pb")).TakeWhile(File.Exists).ToList();
        if (files.Count != declared.Count)
            throw new InvalidOperationException($"{files.Count} {kind} files for {declared.Count} declared {kind}s");
        for (int i = 0; i < files.Count; i++)
        {
            var tensor = OnnxTensors.Read(files[i]);
            var info = declared.FirstOrDefault(d => d.Name == tensor.Name) ?? declared[i];
            if (info.ElementType != OnnxDataType.Undefined && info.ElementType != tensor.DataType)
                throw new InvalidOperationException($"{files[i]}: {tensor.DataType} but '{info.Name}' is declared {info.ElementType}");
            if (info.Shape is { } shape)
            {
                if (shape.Count != tensor.Shape.Rank)
                    throw new InvalidOperationException($"{files[i]}: shape {tensor.Shape} but '{info.Name}' is declared ({string.Join(", ", shape)})");
                for (int d = 0; d < shape.Count; d++)
                {
                    if (shape[d].Value is long v && v != tensor.Shape[d])
                        throw new InvalidOperationException($"{files[i]}: shape {tensor.Shape} but '{info.Name}' is declared ({string.Join(", ", shape)})");
                }
            }
            long product = 1;
            foreach (int d in tensor.Shape) product *= d;
            if (product != tensor.ElementCount || tensor.RawData.Length != product * ElementSize(tensor.DataType))
                throw new InvalidOperationException($"{files[i]}: {tensor.ElementCount} elements / {tensor.RawData.Length} bytes for {tensor.DataType} {tensor.Shape}");
            // Every value converts (float data to float32, integer data to int64).
            int converted = tensor.IsFloatingPoint ? tensor.ToFloatArray().Length : tensor.ToInt64Array().Length;
            if (converted != product)
                throw new InvalidOperationException($"{files[i]}: converted {converted} values, expected {product}");
        }
        return files.Count;
    }

    private static int ElementSize(OnnxDataType type) => type switch
    {
        OnnxDataType.Float or OnnxDataType.Int32 or OnnxDataType.UInt32 => 4,
        OnnxDataType.Double or OnnxDataType.Int64 or OnnxDataType.UInt64 => 8,
        OnnxDataType.Float16 or OnnxDataType.BFloat16 or OnnxDataType.Int16 or OnnxDataType.UInt16 => 2,
        _ => 1,
    };

    [Fact]
    public void Seed_convnet_model_exposes_opset_nodes_attributes_and_initializers()
    {
        var model = OnnxModel.Load(ConformanceData.PathOf("pytorch-models", "seed_convnet", "model.onnx"));
        var graph = model.Graph;

        Assert.Equal(13, model.Opset);
        Assert.Equal("pytorch", model.ProducerName);
        Assert.Equal(["Conv", "Relu", "MaxPool", "Conv", "Relu", "MaxPool", "Constant", "Reshape", "Gemm"], graph.Nodes.Select(n => n.OpType));
        var conv = graph.Nodes[0];
        Assert.Equal([5L, 5L], conv.FindAttribute("kernel_shape")!.Ints);
        Assert.Equal([2L, 2L, 2L, 2L], conv.FindAttribute("pads")!.Ints);
        Assert.Equal(OnnxAttributeType.Int, conv.FindAttribute("group")!.Type);
        Assert.Equal(1L, graph.Nodes[^1].FindAttribute("transB")!.Int);
        var shapeConstant = graph.Nodes[6].FindAttribute("value")!.Tensor!;
        Assert.Equal(OnnxDataType.Int64, shapeConstant.DataType);
        Assert.Equal(new Shape(2), shapeConstant.Shape);
        Assert.Equal([4L, -1L], shapeConstant.ToInt64Array()); // x.reshape(x.size(0), -1) traced with batch 4
        var input = Assert.Single(graph.RuntimeInputs);
        Assert.Equal("input", input.Name);
        Assert.Equal([4, 1, 28, 28], input.FixedShape()!);
        Assert.Equal("output", Assert.Single(graph.Outputs).Name);
        Assert.True(graph.TryGetInitializer("onnx::Conv_35", out var conv1Weight));
        Assert.Equal(new Shape(16, 1, 5, 5), conv1Weight.Shape);
    }

    [Fact]
    public void Seed_convnet_fc_weights_are_identical_in_the_onnx_model_and_the_safetensors_state_dict()
    {
        // Two files written by PyTorch from the same network: the linear layer is stored unfused in both.
        var model = OnnxModel.Load(ConformanceData.PathOf("pytorch-models", "seed_convnet", "model.onnx"));
        var state = SafeTensors.Read(ConformanceData.PathOf("pytorch-models", "seed_convnet", "state_dict.safetensors"));

        foreach (string name in new[] { "fc.weight", "fc.bias" })
        {
            Assert.True(model.Graph.TryGetInitializer(name, out var onnx));
            Assert.Equal(state[name].Shape, onnx.Shape);
            Assert.True(onnx.RawData.SequenceEqual(state[name].Bytes), $"{name} differs between the two files");
        }
    }
}
