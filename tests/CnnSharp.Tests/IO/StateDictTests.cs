using CnnSharp.IO;

namespace CnnSharp.Tests.IO;

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
        Assert.Equal(1, dict.Count);
    }
}
