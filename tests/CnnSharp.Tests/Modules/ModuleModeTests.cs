using CnnSharp.Models;

namespace CnnSharp.Tests.Modules;

public class ModuleModeTests
{
    [Fact]
    public void Train_and_eval_return_the_derived_type()
    {
        // Would not compile before: Train()/Eval() returned Module.
        ConvNet net = new ConvNet(generator: new Generator(2)).Eval();
        Assert.False(net.Training);
        Assert.False(net.Layer1.Training);
        ConvNet again = net.Train();
        Assert.True(again.Layer2.Training);
        Assert.Same(net, again.Train(false));
        Assert.False(net.Fc.Training);
    }
}
