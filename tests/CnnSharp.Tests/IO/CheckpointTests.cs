using CnnSharp.Functional;
using CnnSharp.IO;
using CnnSharp.Models;
using CnnSharp.Modules;
using CnnSharp.Optimizers;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.IO;

public sealed class CheckpointTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static (Tensor Images, int[] Labels) Batch(int seed, int n = 6)
    {
        var g = new Generator((ulong)seed);
        return (Tensor.Rand(g, n, 1, 28, 28), [.. Enumerable.Range(0, n).Select(_ => g.NextInt(10))]);
    }

    private static float Step(ConvNet model, Optimizer opt, int seed)
    {
        var (x, y) = Batch(seed);
        opt.ZeroGrad();
        var loss = F.CrossEntropy(model.Forward(x), y);
        loss.Backward();
        opt.Step();
        return loss.Item();
    }

    [Fact]
    public void Round_trip_restores_weights_buffers_optimizer_state_and_epoch()
    {
        var model = new ConvNet(generator: new Generator(1));
        var opt = new Adam(model.Parameters(), lr: 0.01f);
        for (int s = 0; s < 2; s++) Step(model, opt, s);
        string path = Path.Combine(_dir.Path, "ckpt.safetensors");
        Checkpoint.Save(path, model, opt, epoch: 3, new Dictionary<string, string> { ["note"] = "hello" });

        var model2 = new ConvNet(generator: new Generator(99));
        var opt2 = new Adam(model2.Parameters(), lr: 0.01f);
        var info = Checkpoint.Load(path, model2, opt2);
        Assert.Equal(3, info.Epoch);
        Assert.Equal("hello", info.Metadata["note"]);
        Assert.Equal("ConvNet", info.Metadata["model"]);
        foreach (var ((key, a), (_, b)) in model.StateDict().Zip(model2.StateDict()))
            Assert.True(a.ToArray().SequenceEqual(b.ToArray()), $"{key} differs after the round trip");
        Assert.Equal(2f, model2.StateDict().Single(e => e.Key == "layer2.1.num_batches_tracked").Value.Data[0]);
        var s1 = opt.StateDict();
        var s2 = opt2.StateDict();
        Assert.Equal(s1.Select(e => e.Key), s2.Select(e => e.Key));
        Assert.All(s1.Zip(s2), p => Assert.Equal(p.First.Value.ToArray(), p.Second.Value.ToArray()));
    }

    [Fact]
    public void File_uses_pytorch_keys_int64_counters_and_prefixed_optimizer_state()
    {
        var model = new ConvNet(generator: new Generator(1));
        var opt = new Sgd(model.Parameters(), lr: 0.1f, momentum: 0.9f);
        Step(model, opt, 0);
        string path = Path.Combine(_dir.Path, "ckpt.safetensors");
        Checkpoint.Save(path, model, opt, epoch: 1);

        var file = SafeTensors.Read(path);
        var names = file.Names.ToList();
        Assert.Equal(model.StateDict().Select(e => e.Key), names.Take(model.StateDict().Count));
        Assert.Equal(SafeTensorDType.Int64, file["layer1.1.num_batches_tracked"].DType);
        Assert.Empty(file["layer1.1.num_batches_tracked"].Shape.Dims.ToArray());
        Assert.Equal(SafeTensorDType.Float32, file["fc.weight"].DType);
        Assert.Contains("optimizer.state.0.momentum_buffer", names);
        Assert.Equal(new Shape(16, 1, 5, 5), file["optimizer.state.0.momentum_buffer"].Shape);
        Assert.Equal("1", file.Metadata[Checkpoint.EpochKey]);
        Assert.Equal("pt", file.Metadata["format"]);
    }

    [Fact]
    public void Resume_gives_the_identical_next_step_loss()
    {
        var model = new ConvNet(generator: new Generator(7));
        var opt = new Adam(model.Parameters(), lr: 0.005f);
        for (int s = 0; s < 3; s++) Step(model, opt, s);
        string path = Path.Combine(_dir.Path, "resume.safetensors");
        Checkpoint.Save(path, model, opt, epoch: 1);
        float next = Step(model, opt, 3);
        float after = Step(model, opt, 4);

        var resumed = new ConvNet(generator: new Generator(8));
        var resumedOpt = new Adam(resumed.Parameters(), lr: 0.005f);
        Checkpoint.Load(path, resumed, resumedOpt);
        Assert.Equal(next, Step(resumed, resumedOpt, 3));
        Assert.Equal(after, Step(resumed, resumedOpt, 4)); // equal only if the Adam moments and step counts came back too
    }

    [Fact]
    public void Failing_save_leaves_the_previous_file_intact_and_no_temporary_file()
    {
        string path = Path.Combine(_dir.Path, "keep.safetensors");
        var model = new ConvNet(generator: new Generator(1));
        Checkpoint.Save(path, model, null, epoch: 1);
        byte[] before = File.ReadAllBytes(path);

        // A model whose key collides with the optimizer prefix fails while the entries are written.
        var bad = new Clash();
        var ex = Assert.Throws<ArgumentException>(() => Checkpoint.Save(path, bad, null, epoch: 2));
        Assert.Contains("'optimizer.state'", ex.Message, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Equal(["keep.safetensors"], Directory.GetFiles(_dir.Path).Select(Path.GetFileName));
        Assert.Equal(1, Checkpoint.Load(path, new ConvNet()).Epoch);
    }

    [Fact]
    public void Load_with_wrong_shapes_changes_nothing_and_names_the_key()
    {
        string path = Path.Combine(_dir.Path, "five.safetensors");
        var five = new ConvNet(numClasses: 5, generator: new Generator(1));
        Checkpoint.Save(path, five, new Adam(five.Parameters()), epoch: 1);
        var ten = new ConvNet(generator: new Generator(2));
        var opt = new Adam(ten.Parameters());
        var weightsBefore = ten.Fc.Weight.ToArray();
        var convBefore = ten.StateDict()[0].Value.ToArray();
        var ex = Assert.Throws<StateDictException>(() => Checkpoint.Load(path, ten, opt));
        Assert.Contains("fc.weight", ex.Message, StringComparison.Ordinal);
        Assert.Equal(weightsBefore, ten.Fc.Weight.ToArray());
        Assert.Equal(convBefore, ten.StateDict()[0].Value.ToArray());
        Assert.Empty(opt.StateDict());
    }

    [Fact]
    public void Load_of_a_plain_safetensors_file_without_epoch_is_refused()
    {
        string path = Path.Combine(_dir.Path, "plain.safetensors");
        SafeTensors.Write(path, new Dictionary<string, Tensor> { ["fc.weight"] = Tensor.Zeros(10, 1568) });
        var ex = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path, new ConvNet()));
        Assert.Contains("plain.safetensors", ex.Message, StringComparison.Ordinal);
    }

    private sealed class Clash : Module
    {
        public Clash() => RegisterModule("optimizer", new Inner());

        public override Tensor Forward(Tensor input) => input;

        private sealed class Inner : Module
        {
            public Inner() => RegisterParameter("state", Tensor.Zeros(1));

            public override Tensor Forward(Tensor input) => input;
        }
    }
}
