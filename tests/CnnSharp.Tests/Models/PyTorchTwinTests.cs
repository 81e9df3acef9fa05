using System.Runtime.InteropServices;
using CnnSharp.Functional;
using CnnSharp.IO;
using CnnSharp.Models;
using CnnSharp.Modules;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Models;

/// <summary>
/// VggSmall and ResNet8 against their PyTorch twins (bench/peers/torch_models.py): the same state-dict keys, and the
/// same outputs, loss, gradients and running statistics for the same weights. Fixtures: Fixtures/models/, written by
/// tests/reference/generate_model_fixtures.py (references in float64 from float16-exact weights, so the only error is
/// CnnSharp's float32 arithmetic).
/// </summary>
public sealed class PyTorchTwinTests
{
    /// <summary>
    /// Logits and loss after 7-8 layers of float32 sums of up to 1,152 products, batch-normalised at every layer:
    /// observed max abs error 2.3e-7 on logits up to 0.56 (AVX-512, AVX2 and the DOTNET_EnableAVX2=0 leg alike); 2e-6
    /// absolute + 1e-5 relative leaves a ~9x margin, while a wrong weight, layer or activation moves logits by ~1e-2.
    /// </summary>
    private static readonly Tolerance Logits = new(1e-5, 2e-6);

    /// <summary>
    /// Gradients (input, first and last weight) and running statistics after the training forward: observed max abs
    /// error 1.1e-7 on values up to 1.8, 4e-9 on input gradients up to 4e-3 (same three ISA paths); 1e-6 absolute + 1e-4
    /// relative keeps a ~9x margin on the largest. This holds because the generator draws an input that keeps every ReLU
    /// input and max-pool top-two gap at least 1e-5 from the kink (see tests/reference/generate_model_fixtures.py).
    /// </summary>
    private static readonly Tolerance Backward = new(1e-4, 1e-6);

    private static Module Create(string name) => name switch
    {
        "vgg_small" => new VggSmall(),
        "resnet8" => new ResNet8(),
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "no such model fixture"),
    };

    private static string FixturePath(string file) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "models", file);

    [Theory]
    [InlineData("vgg_small")]
    [InlineData("resnet8")]
    public void State_dict_keys_shapes_and_parameter_names_equal_pytorch(string name)
    {
        var fx = JsonFixture.Load($"models/{name}_state_dict.json");
        var expected = fx.GetProperty("state_dict").EnumerateArray()
            .Select(e => (Key: e.GetProperty("key").GetString()!, Shape: e.GetProperty("shape").Ints())).ToList();
        var model = Create(name);
        var actual = model.StateDict();
        Assert.Equal(expected.Select(e => e.Key), actual.Select(e => e.Key));
        foreach (var ((key, shape), (_, tensor)) in expected.Zip(actual))
        {
            // num_batches_tracked is a 0-d int64 in PyTorch and a one-element float buffer here (saved as I64).
            if (key.EndsWith("num_batches_tracked", StringComparison.Ordinal)) Assert.Equal(1, tensor.Numel);
            else Assert.True(tensor.Shape.Equals(shape), $"{key}: {tensor.Shape}, PyTorch {Shape.Format(shape)}");
        }
        Assert.Equal(fx.GetProperty("parameters").EnumerateArray().Select(p => p.GetString()), model.NamedParameters().Select(p => p.Key));
    }

    [Theory]
    [InlineData("vgg_small")]
    [InlineData("resnet8")]
    public void Eval_forward_with_pytorch_weights_gives_pytorch_logits(string name)
    {
        var (model, io) = Load(name);
        model.Eval();
        var logits = model.Forward(io["input"].ToTensor());
        Assert.Equal(io["eval_output"].Shape, logits.Shape);
        TensorAssert.Close(Doubles(io["eval_output"]), logits, Logits, $"{name} eval logits");
    }

    [Theory]
    [InlineData("vgg_small")]
    [InlineData("resnet8")]
    public void Train_step_with_pytorch_weights_gives_pytorch_loss_gradients_and_running_statistics(string name)
    {
        var (model, io) = Load(name);
        var input = io["input"].ToTensor();
        input.RequiresGrad = true;
        var labels = Array.ConvertAll(io["labels"].ToInt64Array(), v => (int)v);
        var logits = model.Forward(input);
        TensorAssert.Close(Doubles(io["train_output"]), logits, Logits, $"{name} train-mode logits");
        var loss = F.CrossEntropy(logits, labels);
        TensorAssert.Close(Doubles(io["loss"]), loss, Logits, $"{name} loss");
        loss.Backward();
        TensorAssert.Close(Doubles(io["input_grad"]), input.Grad!, Backward, $"{name} input gradient");

        var state = model.StateDict().ToDictionary(e => e.Key, e => e.Value);
        var gradKeys = io.Names.Where(n => n.StartsWith("grad.", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, gradKeys.Count);
        foreach (var key in gradKeys)
            TensorAssert.Close(Doubles(io[key]), state[key["grad.".Length..]].Grad!, Backward, $"{name} {key}");
        var afterKeys = io.Names.Where(n => n.StartsWith("after.", StringComparison.Ordinal)).ToList();
        Assert.Equal(2 * state.Keys.Count(k => k.EndsWith("running_mean", StringComparison.Ordinal)), afterKeys.Count);
        foreach (var key in afterKeys)
            TensorAssert.Close(Doubles(io[key]), state[key["after.".Length..]], Backward, $"{name} {key}");
        // The fixture's weights were saved with num_batches_tracked = 3; one training forward makes it 4.
        Assert.All(state.Where(e => e.Key.EndsWith("num_batches_tracked", StringComparison.Ordinal)), e => Assert.Equal(4f, e.Value.Data[0]));
    }

    private static (Module Model, SafeTensorsFile Io) Load(string name)
    {
        var model = Create(name);
        var result = model.LoadSafetensors(FixturePath(name + ".safetensors"));
        Assert.Empty(result.MissingKeys);
        Assert.Empty(result.UnexpectedKeys);
        return (model, SafeTensors.Read(FixturePath(name + "_io.safetensors")));
    }

    /// <summary>A float64 reference as doubles (ToFloatArray would round it to float32).</summary>
    private static double[] Doubles(SafeTensorEntry entry)
    {
        Assert.Equal(SafeTensorDType.Float64, entry.DType);
        return MemoryMarshal.Cast<byte, double>(entry.Bytes).ToArray();
    }
}
