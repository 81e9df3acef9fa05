using CnnSharp.IO;
using CnnSharp.Models;
using CnnSharp.Optimizers;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.IO;

/// <summary>Files of another kind, directories and missing paths where a safetensors file or checkpoint is expected.</summary>
public sealed class WrongFileKindTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    public static TheoryData<byte[], string> OtherFormats => new()
    {
        { [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13], "a PNG image" },
        { [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, (byte)'J', (byte)'F', (byte)'I', (byte)'F'], "a JPEG image" },
        { [0xFF, 0xD8, 0xFF], "a JPEG image" },
        { [(byte)'P', (byte)'K', 3, 4, 20, 0, 0, 0, 0, 0], "a zip archive (PyTorch's torch.save format" },
        { [0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20], "a Python pickle" },
        { [0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 3], "a gzip-compressed file" },
        { [0, 0, 8, 3, 0, 0, 0x27, 0x10, 0, 0, 0, 28], "an IDX data file" },
        { [0x08, 0x07, 0x12, 0x07, (byte)'p', (byte)'y', (byte)'t', (byte)'o', (byte)'r', (byte)'c', (byte)'h'], "an ONNX model" },
    };

    [Theory]
    [MemberData(nameof(OtherFormats))]
    public void Another_format_is_named_instead_of_its_bytes_read_as_a_header_length(byte[] bytes, string kind)
    {
        var ex = Assert.Throws<SafeTensorsFormatException>(() => SafeTensors.Deserialize(bytes, "x.safetensors"));
        Assert.Equal($"x.safetensors is {kind}", ex.Message[..$"x.safetensors is {kind}".Length]);
        Assert.Contains("not a safetensors file", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("header length", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_real_onnx_export_is_named_as_an_onnx_model()
    {
        byte[] onnx = CnnSharp.Onnx.OnnxExporter.ExportToBytes(new ConvNet(generator: new Generator(1)), [1, 1, 28, 28]);
        var ex = Assert.Throws<SafeTensorsFormatException>(() => SafeTensors.Deserialize(onnx, "m.onnx"));
        Assert.Equal("m.onnx is an ONNX model, not a safetensors file", ex.Message);
    }

    [Fact]
    public void A_valid_file_whose_header_length_begins_like_an_onnx_model_still_loads()
    {
        // Header length 0x308 starts with the bytes 08 03, an ONNX-like prefix: the signature is only consulted after a failure.
        static byte[] WithMetadata(int length) =>
            SafeTensors.Serialize([SafeTensorEntry.FromFloats("w", [1f], new Shape(1))], new Dictionary<string, string> { ["m"] = new string('x', length) });
        int headerLength = BitConverter.ToInt32(WithMetadata(100), 0);
        byte[] bytes = WithMetadata(100 + 0x308 - headerLength);
        Assert.Equal([0x08, 0x03], bytes[..2]);
        Assert.Equal([1f], SafeTensors.Deserialize(bytes).Entries.Single().ToTensor().ToArray());
    }

    [Fact]
    public void A_directory_and_a_missing_file_say_so_with_the_path()
    {
        var dir = Assert.Throws<IOException>(() => SafeTensors.Read(_dir.Path));
        Assert.Equal($"{_dir.Path} is a directory, expected a file", dir.Message);
        string missing = _dir.File("gone/x.safetensors");
        var gone = Assert.Throws<FileNotFoundException>(() => SafeTensors.Read(missing));
        Assert.Equal($"{missing}: file not found", gone.Message);
        Assert.Equal(missing, gone.FileName);
        var onnx = Assert.Throws<FileNotFoundException>(() => CnnSharp.Onnx.OnnxModel.Load(_dir.File("y.onnx")));
        Assert.Equal($"{_dir.File("y.onnx")}: file not found", onnx.Message);
    }

    [Theory]
    [InlineData("three")]
    [InlineData("-1")]
    [InlineData("1.5")]
    [InlineData("99999999999")]
    [InlineData("")]
    public void An_epoch_of_the_wrong_form_is_reported_as_wrong_not_missing(string epoch)
    {
        string path = _dir.File("e.safetensors");
        SafeTensors.Write(path, new ConvNet().StateDict().ToDictionary(e => e.Key, e => e.Value), new Dictionary<string, string> { ["epoch"] = epoch });
        var ex = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path, new ConvNet()));
        Assert.Equal($"{path}: __metadata__ 'epoch' is \"{epoch}\", expected the number of epochs completed (a whole number >= 0)", ex.Message);
    }

    [Fact]
    public void Another_optimizers_state_is_refused_in_one_line_and_changes_nothing()
    {
        string path = _dir.File("adam.safetensors");
        var model = new ConvNet(generator: new Generator(4));
        var adam = new Adam(model.Parameters());
        foreach (var p in model.Parameters()) p.Grad = Tensor.Ones(p.Shape.Dims.ToArray());
        adam.Step();
        Checkpoint.Save(path, model, adam, epoch: 2);

        var target = new ConvNet(generator: new Generator(5));
        var before = target.StateDict()[0].Value.ToArray();
        var sgd = new Sgd(target.Parameters(), lr: 0.1f, momentum: 0.9f);
        var ex = Assert.Throws<OptimizerMismatchException>(() => Checkpoint.Load(path, target, sgd));
        Assert.Equal("Adam", ex.SavedOptimizer);
        Assert.Equal("Sgd", ex.RequestedOptimizer);
        Assert.Equal(path, ex.Path);
        Assert.DoesNotContain('\n', ex.Message);
        Assert.DoesNotContain("state.0", ex.Message, StringComparison.Ordinal);
        Assert.Equal(before, target.StateDict()[0].Value.ToArray());
        Assert.Empty(sgd.StateDict());
        Assert.Equal(2, Checkpoint.Load(path, target).Epoch); // weights alone still load
    }
}
