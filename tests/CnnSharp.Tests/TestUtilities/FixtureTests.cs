namespace CnnSharp.Tests.TestUtilities;

public sealed class FixtureTests
{
    [Fact]
    public void Load_reads_seed_conv_fixture_tensors_and_params()
    {
        var fx = Fixture.Load("conv2d_seed_4x4_k3_s2_p1");
        Assert.Equal("F.conv2d(input, weight, None, stride=(2, 2), padding=(1, 1), dilation=(1, 1), groups=1)", fx.Call);
        var input = fx.Input("input");
        Assert.Equal("float32", input.Dtype);
        Assert.Equal([1, 1, 4, 4], input.Shape);
        Assert.Equal([1.0, 0, 1, 0, 0, 1, 0, 1, 1, 0, 1, 0, 0, 1, 0, 1], input.Data); // the seed's input matrix
        Assert.Equal([1, 1, 3, 3], fx.Input("weight").Shape);
        Assert.Equal([2, 2], fx.Ints("stride"));
        Assert.Equal([1, 1], fx.Ints("padding"));
        Assert.Equal(1, fx.Int("groups"));
        Assert.False(fx.Bool("bias"));
        // By hand: out(0,0) = K row 2 over I[1, -1..1] = 0 + 0 + 1; out(0,1) = I[1,1] + I[1,3] = 2;
        // out(1,0) = I[1,1] + I[3,1] = 2; out(1,1) = (I[1,1] + I[1,3]) + (I[3,1] + I[3,3]) = 4. (The seed prints [[1, 3], [2, 5]].)
        Assert.Equal([1.0, 2, 2, 4], fx.Output().Data);
        Assert.Equal(fx.Output().Shape, fx.GradOutput().Shape);
        Assert.Equal(input.Shape, fx.Grad("input").Shape);
        Assert.Equal(fx.Input("weight").Shape, fx.Grad("weight").Shape);
        Assert.False(fx.Grads.ContainsKey("bias"));
    }

    [Fact]
    public void Load_reads_int64_scalars_and_state_entries()
    {
        var ce = Fixture.Load("cross_entropy_mean_n6_c5");
        Assert.Empty(ce.Output().Shape);
        Assert.Single(ce.Output().Data);
        Assert.Equal("mean", ce.String("reduction"));
        long[] target = ce.Input("target").ToInt64Array();
        Assert.Equal(6, target.Length);
        Assert.All(target, t => Assert.InRange(t, 0, 4));

        var bn = Fixture.Load("batch_norm_train_n4_c3_5x6");
        Assert.Equal(0.1, bn.Double("momentum"));
        Assert.True(bn.Bool("training"));
        Assert.Equal([3], bn.Output("running_var").Shape);
        Assert.NotEqual(bn.Input("running_var").Data, bn.Output("running_var").Data);

        var pool = Fixture.Load("max_pool2d_ties_k2_s1");
        Assert.Equal([0L, 6, 3, 8, 10, 10, 8, 10, 10], pool.Output("indices").ToInt64Array());
    }

    [Fact]
    public void Every_fixture_loads_with_consistent_shapes()
    {
        var names = Fixture.AllNames();
        Assert.True(names.Count >= 50, $"only {names.Count} fixtures");
        foreach (string name in names)
        {
            var fx = Fixture.Load(name);
            Assert.Equal(name, fx.Name);
            Assert.True(fx.Call.StartsWith("F.", StringComparison.Ordinal) || fx.Call.StartsWith("torch.", StringComparison.Ordinal), fx.Call);
            Assert.NotEmpty(fx.Inputs);
            foreach (var (key, grad) in fx.Grads) Assert.Equal(fx.Input(key).Shape, grad.Shape);
            Assert.Equal(fx.Output().Shape, fx.GradOutput().Shape);
            Assert.All(fx.Inputs.Values, t => Assert.All(t.Data, v => Assert.Equal(v, (double)(float)v))); // exact float32
        }
    }

    [Fact]
    public void Missing_fixture_or_entry_throws_naming_it()
    {
        var ex = Assert.Throws<FileNotFoundException>(() => Fixture.Load("no_such_fixture"));
        Assert.Contains("no_such_fixture", ex.Message, StringComparison.Ordinal);
        var fx = Fixture.Load("relu_n2_c3_4x5");
        var missing = Assert.Throws<KeyNotFoundException>(() => fx.Input("weight"));
        Assert.Contains("relu_n2_c3_4x5.json", missing.Message, StringComparison.Ordinal);
    }
}
