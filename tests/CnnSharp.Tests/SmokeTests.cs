namespace CnnSharp.Tests;

public sealed class SmokeTests
{
    [Fact]
    public void Reshape_shares_storage_and_backward_flows()
    {
        var x = Tensor.FromArray([1f, 2f, 3f, 4f], 2, 2).RequiresGrad_();
        var y = x.Reshape(4);
        y.Data[0] = 5f;
        Assert.Equal(5f, x[0, 0]);
        y.Backward(Tensor.Ones(4));
        Assert.Equal(new[] { 1f, 1f, 1f, 1f }, x.Grad!.ToArray());
    }
}
