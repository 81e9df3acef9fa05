using System.Buffers.Binary;
using System.Text;
using CnnSharp.IO;
using CnnSharp.Tests.Data;
using CnnSharp.Tests.Onnx;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Fuzz;

/// <summary>
/// Writes the committed seed corpus (<c>fuzz/corpus/&lt;target&gt;/</c>): small valid files of every format, a few with
/// edge cases (empty tensors, metadata, int64 shapes), and the CLI argument lists of each command. The JPEG seeds are
/// the test fixtures, copied.
/// </summary>
internal static class SeedWriter
{
    public static void Write(string corpus, string repositoryRoot)
    {
        void Save(string target, string name, byte[] bytes)
        {
            string folder = Path.Combine(corpus, target);
            Directory.CreateDirectory(folder);
            File.WriteAllBytes(Path.Combine(folder, name), bytes);
        }

        Save("safetensors", "f32-with-metadata.safetensors", SafeTensors.Serialize(
            [SafeTensorEntry.FromFloats("conv.weight", [1, 2, 3, 4, 5, 6], new Shape(2, 3)), SafeTensorEntry.FromFloats("conv.bias", [0.5f, -1], new Shape(2))],
            new Dictionary<string, string> { ["epoch"] = "3", ["format"] = "pt" }));
        Save("safetensors", "mixed-dtypes.safetensors", SafeTensors.Serialize(
        [
            SafeTensorEntry.FromFloats("half", [1, 2], new Shape(2), SafeTensorDType.Float16),
            SafeTensorEntry.FromFloats("double", [3], new Shape(1, 1), SafeTensorDType.Float64),
            SafeTensorEntry.Int64Scalar("step", 42),
            SafeTensorEntry.FromFloats("empty", [], new Shape(0, 4)),
        ]));

        Save("idx", "labels.idx1-ubyte", Idx([5], [7, 2, 1, 0, 4]));
        Save("idx", "images.idx3-ubyte", Idx([2, 3, 3], Enumerable.Range(0, 18).Select(i => (byte)(i * 14)).ToArray()));
        Save("idx", "empty.idx3-ubyte", Idx([0, 28, 28], []));

        Save("png", "gray-5x3.png", PngWriter.Gray(5, 3, (x, y) => (byte)(40 * x + 10 * y)));
        Save("png", "rgb-4x4.png", PngWriter.Encode(4, 4, 3, Enumerable.Range(0, 48).Select(i => (byte)(i * 5)).ToArray()));
        Save("png", "rgba-3x2.png", PngWriter.Encode(3, 2, 4, Enumerable.Range(0, 24).Select(i => (byte)(255 - i * 9)).ToArray()));
        Save("png", "gray-28x1.png", PngWriter.Gray(28, 1, (x, _) => (byte)(9 * x)));

        // Small torch.save files from the test fixtures: views and every storage dtype, protocol 4, a nested checkpoint.
        foreach (string pt in new[] { "views.pt", "protocol4.pt", "checkpoint.pt" })
            Save("pt", pt, File.ReadAllBytes(Path.Combine(repositoryRoot, "tests", "CnnSharp.Tests", "Fixtures", "torch", pt)));

        foreach (string jpeg in Directory.GetFiles(Path.Combine(repositoryRoot, "tests", "CnnSharp.Tests", "Fixtures", "images"), "*.jpg"))
            Save("jpeg", Path.GetFileName(jpeg), File.ReadAllBytes(jpeg));

        foreach (var (name, model) in OnnxSeeds()) Save("onnx", name, model);

        // Miniature dataset-fashion-mnist packages: the xz test fixture, and the same tar plain and gzipped.
        byte[] xz = File.ReadAllBytes(Path.Combine(repositoryRoot, "tests", "CnnSharp.Tests", "Fixtures", "deb", "fashion-mini.data.tar.xz"));
        Save("deb", "mini-xz.deb", DataTestFiles.Deb("data.tar.xz", xz));
        Save("deb", "mini-tar.deb", DataTestFiles.Deb("data.tar", DataTestFiles.FashionDataTar()));
        Save("deb", "mini-gz.deb", DataTestFiles.Deb("data.tar.gz", DataTestFiles.Gzip(DataTestFiles.FashionDataTar())));

        string[][] commands =
        [
            ["train", "--epochs", "1", "--lr", "0.01", "--batch-size", "64", "--optimizer", "sgd", "--momentum", "0.9", "--seed", "1", "--output", "a.safetensors"],
            ["train", "--resume", "a.safetensors", "--limit", "100", "--test-limit", "10", "--threads", "2", "--data-dir", "data", "--generic"],
            ["evaluate", "--checkpoint", "a.safetensors", "--batch-size", "256", "--limit", "1000"],
            ["predict", "x.png", "y.jpg", "--checkpoint", "a.safetensors", "--topk", "3", "--no-invert"],
            ["predict", "x.png", "--model", "m.onnx"],
            ["export", "--checkpoint", "a.safetensors", "--output", "m.onnx", "--opset", "13"],
            ["--help"],
            ["--version"],
        ];
        foreach (var args in commands) Save("cli", $"{args[0].TrimStart('-')}-{commands.ToList().IndexOf(args)}.args", Encoding.UTF8.GetBytes(string.Join('\n', args)));
    }

    private static byte[] Idx(int[] dims, byte[] data)
    {
        var bytes = new byte[4 + 4 * dims.Length + data.Length];
        bytes[2] = 0x08;
        bytes[3] = (byte)dims.Length;
        for (int i = 0; i < dims.Length; i++) BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4 + 4 * i), dims[i]);
        data.CopyTo(bytes, 4 + 4 * dims.Length);
        return bytes;
    }

    private static IEnumerable<(string Name, byte[] Model)> OnnxSeeds()
    {
        // A small CNN: Conv, Relu, MaxPool, Flatten, Gemm, Softmax.
        yield return ("cnn.onnx", new OnnxTestGraph().Input("x", 1, 1, 6, 6)
            .Initializer("w", Enumerable.Range(0, 18).Select(i => i / 18f - 0.5f).ToArray(), 2, 1, 3, 3)
            .Initializer("b", [0.1f, -0.1f], 2)
            .Initializer("fc", Enumerable.Range(0, 24).Select(i => (i % 5) / 5f).ToArray(), 3, 8)
            .Node("Conv", "conv", ["x", "w", "b"], ["c"], ("kernel_shape", new long[] { 3, 3 }), ("pads", new long[] { 0, 0, 0, 0 }))
            .Node("Relu", "relu", ["c"], ["r"])
            .Node("MaxPool", "pool", ["r"], ["p"], ("kernel_shape", new long[] { 2, 2 }), ("strides", new long[] { 2, 2 }))
            .Node("Flatten", "flatten", ["p"], ["f"])
            .Node("Gemm", "fc", ["f", "fc"], ["g"], ("transB", 1L))
            .Node("Softmax", "softmax", ["g"], ["y"]).Output("y").ToBytes());

        // Shapes taken from the file: ConstantOfShape, Expand, Tile, Pad, Reshape (their dims are what mutations grow).
        yield return ("shapes.onnx", new OnnxTestGraph().Input("x", 2, 3)
            .Initializer("target", new long[] { 2, 3 }, 2).Initializer("repeats", new long[] { 2, 1 }, 2)
            .Initializer("pads", new long[] { 0, 1, 0, 1 }, 4).Initializer("flat", new long[] { -1 }, 1)
            .Node("ConstantOfShape", "zeros", ["target"], ["z"])
            .Node("Add", "add", ["x", "z"], ["s"])
            .Node("Expand", "expand", ["s", "target"], ["e"])
            .Node("Tile", "tile", ["e", "repeats"], ["t"])
            .Node("Pad", "pad", ["t", "pads"], ["p"])
            .Node("Reshape", "reshape", ["p", "flat"], ["r"])
            .Node("ReduceSum", "sum", ["r"], ["y"], ("keepdims", 0L)).Output("y").ToBytes());

        // Shape arithmetic at run time: Shape, Gather, Concat, Unsqueeze, Slice, Transpose, MatMul.
        yield return ("dynamic.onnx", new OnnxTestGraph().Input("x", 2, 4)
            .Initializer("zero", new long[] { 0 }).Initializer("axes", new long[] { 0 }, 1)
            .Initializer("starts", new long[] { 1 }, 1).Initializer("ends", new long[] { 3 }, 1)
            .Node("Shape", "shape", ["x"], ["shape"])
            .Node("Gather", "n", ["shape", "zero"], ["n"], ("axis", 0L))
            .Node("Unsqueeze", "n1", ["n", "axes"], ["n1"])
            .Node("Concat", "square", ["n1", "n1"], ["square"], ("axis", 0L))
            .Node("ConstantOfShape", "m", ["square"], ["m"])
            .Node("Slice", "slice", ["x", "starts", "ends", "axes"], ["sl"])
            .Node("Transpose", "xt", ["x"], ["xt"], ("perm", new long[] { 1, 0 }))
            .Node("MatMul", "mm", ["xt", "m"], ["mm"])
            .Node("ReduceMean", "mean", ["mm"], ["y"], ("keepdims", 0L)).Output("y").ToBytes());

        // Fully constant: folded at load (the 40000x40000 version once took 12 GB at load; see docs/reliability.md).
        yield return ("folded-4x5.onnx", FoldedConstantOfShape(4, 5));
        yield return ("folded-40000x40000.onnx", FoldedConstantOfShape(40000, 40000));
    }

    /// <summary>ConstantOfShape (rows, cols) from a Constant node, then ReduceSum: every value is folded at load.</summary>
    public static byte[] FoldedConstantOfShape(long rows, long cols) => new OnnxTestGraph()
        .Node("Constant", "shape", [], ["s"], ("value", OnnxTestGraph.Int64Tensor(rows, cols)))
        .Node("ConstantOfShape", "fill", ["s"], ["c"])
        .Node("ReduceSum", "sum", ["c"], ["y"], ("keepdims", 0L)).Output("y").ToBytes();
}
