using CnnSharp.IO;
using CnnSharp.Models;
using CnnSharp.Modules;
using CnnSharp.Optimizers;

namespace CnnSharp.Tests;

public sealed class StateDictTests
{
    [Fact]
    public void Keys_keep_insertion_order_across_tensors_and_counters()
    {
        var dict = new StateDict();
        dict.Add("b.weight", Tensor.Zeros(2));
        dict.AddInt64("b.num_batches_tracked", 3);
        dict.Add("a.weight", Tensor.Zeros(1));

        Assert.Equal(["b.weight", "b.num_batches_tracked", "a.weight"], dict.Keys);
        Assert.Equal(["b.weight", "a.weight"], dict.Tensors.Select(kv => kv.Key));
        Assert.Equal(3, dict.Count);
        Assert.Equal(["b.weight", "b.num_batches_tracked", "a.weight"], dict.ToSafeTensorEntries().Select(e => e.Name));
    }

    [Fact]
    public void Tensors_are_held_by_reference()
    {
        var t = Tensor.Zeros(2);
        var dict = new StateDict();
        dict.Add("w", t);

        t.Data[1] = 4f;

        Assert.Same(t, dict.GetTensor("w"));
        Assert.Equal(4f, dict.GetTensor("w").Data[1]);
    }

    [Fact]
    public void Lookups_of_the_wrong_kind_say_what_the_key_holds()
    {
        var dict = new StateDict();
        dict.Add("w", Tensor.Zeros(1));
        dict.AddInt64("n", 1);

        Assert.Contains("is an int64 scalar", Assert.Throws<KeyNotFoundException>(() => dict.GetTensor("n")).Message);
        Assert.Contains("is a tensor", Assert.Throws<KeyNotFoundException>(() => dict.GetInt64("w")).Message);
        Assert.Contains("no key 'x'", Assert.Throws<KeyNotFoundException>(() => dict.GetTensor("x")).Message);
        Assert.False(dict.TryGetTensor("n", out _));
        Assert.True(dict.TryGetInt64("n", out long n) && n == 1);
    }

    [Fact]
    public void Duplicate_empty_and_reserved_keys_are_rejected()
    {
        var dict = new StateDict();
        dict.Add("w", Tensor.Zeros(1));

        Assert.Contains("already present", Assert.Throws<ArgumentException>(() => dict.AddInt64("w", 1)).Message);
        Assert.Throws<ArgumentException>(() => dict.Add("", Tensor.Zeros(1)));
        Assert.Throws<ArgumentException>(() => dict.Add("__metadata__", Tensor.Zeros(1)));
        Assert.Single(dict);
    }

    // The API seam of issue 11: Module.StateDict() returned a list and LoadStateDict took a dictionary, so a module could
    // not load another's state directly. These tests would not have compiled before.
    [Fact]
    public void A_module_loads_another_modules_state_dict_by_copy()
    {
        var source = new ConvNet(10, new Generator(1));
        var target = new ConvNet(10, new Generator(2));

        var result = target.LoadStateDict(source.StateDict());
        source.Fc.Weight.Data[0] += 1f; // values were copied, not shared

        Assert.Empty(result.MissingKeys);
        Assert.Empty(result.UnexpectedKeys);
        Assert.Equal(source.StateDict().Keys, target.StateDict().Keys);
        Assert.Equal(source.StateDict()["layer1.0.weight"].ToArray(), target.StateDict()["layer1.0.weight"].ToArray());
        Assert.NotEqual(source.Fc.Weight.Data[0], target.Fc.Weight.Data[0]);
    }

    [Fact]
    public void Module_state_dict_is_ordered_and_holds_the_live_tensors()
    {
        var bn = new BatchNorm2d(3);
        StateDict state = bn.StateDict();

        Assert.Equal(["weight", "bias", "running_mean", "running_var", "num_batches_tracked"], state.Keys);
        Assert.Same(bn.Weight, state["weight"]);
        Assert.Equal("bias", state[1].Key);
        Assert.Equal(state.Keys, state.Select(e => e.Key));
    }

    [Fact]
    public void A_non_strict_load_reports_missing_and_unexpected_keys_and_loads_the_rest()
    {
        var source = new Linear(3, 2, generator: new Generator(1));
        var target = new Linear(3, 2, generator: new Generator(2));
        var partial = new StateDict(source.StateDict().Where(e => e.Key != "bias")) { ["extra"] = Tensor.Zeros(1) };

        var result = target.LoadStateDict(partial, strict: false);

        Assert.Equal(["bias"], result.MissingKeys);
        Assert.Equal(["extra"], result.UnexpectedKeys);
        Assert.Equal(source.Weight.ToArray(), target.Weight.ToArray());
        Assert.NotEqual(source.Bias!.ToArray(), target.Bias!.ToArray());
    }

    [Fact]
    public void A_strict_load_reports_every_problem_at_once_and_changes_nothing()
    {
        var target = new Linear(3, 2, generator: new Generator(2));
        var before = target.Weight.ToArray();
        var bad = new StateDict { ["weight"] = Tensor.Zeros(2, 4), ["other"] = Tensor.Zeros(1) };

        var e = Assert.Throws<StateDictException>(() => target.LoadStateDict(bad));

        Assert.Contains("missing keys: bias", e.Message, StringComparison.Ordinal);
        Assert.Contains("unexpected keys: other", e.Message, StringComparison.Ordinal);
        Assert.Contains("weight: shape (2, 4) in the state dict, (2, 3) in the model", e.Message, StringComparison.Ordinal);
        Assert.Equal(before, target.Weight.ToArray());
    }

    [Fact]
    public void An_int64_batch_counter_loads_into_the_counter_and_nowhere_else()
    {
        var bn = new BatchNorm2d(2);
        var state = new StateDict(bn.StateDict().Where(e => e.Key != "num_batches_tracked"));
        state.AddInt64("num_batches_tracked", 7);

        bn.LoadStateDict(state);
        Assert.Equal(7f, bn.StateDict()["num_batches_tracked"].Item());

        var misplaced = new StateDict(bn.StateDict().Where(e => e.Key != "bias"));
        misplaced.AddInt64("bias", 1);
        var e = Assert.Throws<StateDictException>(() => bn.LoadStateDict(misplaced));
        Assert.Contains("bias: ", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Optimizer_state_dict_round_trips_between_optimizers()
    {
        var p = Tensor.Ones(3).RequiresGrad_();
        var sgd = new Sgd([p], 0.1f, momentum: 0.9f);
        p.Grad = Tensor.Ones(3);
        sgd.Step();
        var q = Tensor.Ones(3).RequiresGrad_();
        var other = new Sgd([q], 0.1f, momentum: 0.9f);

        other.LoadStateDict(sgd.StateDict());

        Assert.Equal(sgd.StateDict().Keys, other.StateDict().Keys);
        Assert.Equal(sgd.StateDict()[0].Value.ToArray(), other.StateDict()[0].Value.ToArray());
    }

    [Fact]
    public void Setting_a_key_replaces_in_place_and_appends_a_new_one()
    {
        var dict = new StateDict { ["a"] = Tensor.Zeros(1), ["b"] = Tensor.Zeros(1) };
        dict.AddInt64("n", 2);
        var replacement = Tensor.Ones(2);

        dict["a"] = replacement;
        dict["n"] = Tensor.Scalar(3f);
        dict["c"] = Tensor.Zeros(1);

        Assert.Equal(["a", "b", "n", "c"], dict.Keys);
        Assert.Same(replacement, dict["a"]);
        Assert.False(dict.IsInt64("n"));
        Assert.Throws<KeyNotFoundException>(() => dict["missing"]);
    }

    [Fact]
    public void Int64_scalars_are_enumerated_as_scalar_tensors()
    {
        var dict = new StateDict();
        dict.AddInt64("n", 5);

        var (key, tensor) = Assert.Single(dict);

        Assert.Equal("n", key);
        Assert.Equal(new Shape(), tensor.Shape);
        Assert.Equal(5f, tensor.Item());
    }

    [Fact]
    public void A_safetensors_state_dict_round_trips_through_the_module_load()
    {
        var source = new ConvNet(10, new Generator(1));
        var target = new ConvNet(10, new Generator(2));
        string path = Path.Combine(Path.GetTempPath(), $"cnnsharp-statedict-{Environment.ProcessId}-{Guid.NewGuid():N}.safetensors");
        try
        {
            source.SaveSafetensors(path);
            target.LoadStateDict(SafeTensors.ReadStateDict(path));
        }
        finally
        {
            File.Delete(path);
        }
        Assert.Equal(source.Fc.Weight.ToArray(), target.Fc.Weight.ToArray());
    }
}
