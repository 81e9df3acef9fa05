using CnnSharp.Functional;
using CnnSharp.Modules;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Modules;

/// <summary>Modules whose forward takes several tensors: <c>Module.Forward(params Tensor[])</c>.</summary>
public sealed class MultiInputForwardTests
{
    /// <summary>A Siamese head: one shared encoder applied to both inputs, then a linear layer on the concatenated codes.</summary>
    private sealed class SiameseHead : Module
    {
        private readonly Linear _encoder, _head;

        public SiameseHead(Generator g)
        {
            _encoder = RegisterModule("encoder", new Linear(4, 3, generator: g));
            _head = RegisterModule("head", new Linear(6, 1, generator: g));
        }

        public Linear Encoder => _encoder;

        public Linear Head => _head;

        public override Tensor Forward(params Tensor[] inputs)
        {
            if (inputs.Length != 2) throw new ArgumentException($"SiameseHead takes two inputs, got {inputs.Length}", nameof(inputs));
            return _head.Forward(F.Cat([F.Tanh(_encoder.Forward(inputs[0])), F.Tanh(_encoder.Forward(inputs[1]))], dim: 1));
        }
    }

    [Fact]
    public void Two_input_module_runs_forward_and_backward_like_the_same_ops_called_directly()
    {
        var m = new SiameseHead(new Generator(2));
        var a = Tensor.Randn(new Generator(3), 5, 4).RequiresGrad_();
        var b = Tensor.Randn(new Generator(4), 5, 4).RequiresGrad_();
        var y = m.Forward(a, b);
        TensorAssert.ShapeIs(y, 5, 1);
        y.Sum().Backward();
        var grads = m.Parameters().Select(p => p.Grad!.ToArray()).ToList();
        var (ga, gb) = (a.Grad!.ToArray(), b.Grad!.ToArray());

        // The same computation spelled out with the children, from fresh leaves and cleared gradients.
        m.ZeroGrad();
        var a2 = a.Detach().Clone().RequiresGrad_();
        var b2 = b.Detach().Clone().RequiresGrad_();
        var codes = F.Cat([F.Tanh(m.Encoder.Forward(a2)), F.Tanh(m.Encoder.Forward(b2))], dim: 1);
        var y2 = m.Head.Forward(codes);
        Assert.Equal(y2.ToArray(), y.ToArray());
        y2.Sum().Backward();
        Assert.Equal(grads, m.Parameters().Select(p => p.Grad!.ToArray()).ToList());
        Assert.Equal(ga, a2.Grad!.ToArray());
        Assert.Equal(gb, b2.Grad!.ToArray());
        Assert.Equal(y.ToArray(), m.Call(a, b).ToArray());
        Assert.NotEqual(ga, gb); // the two inputs reach different halves of the head
    }

    [Fact]
    public void Arity_errors_name_the_module()
    {
        var siamese = new SiameseHead(new Generator(2));
        var x = Tensor.Zeros(2, 4);
        Assert.Contains("SiameseHead", Assert.Throws<NotImplementedException>(() => siamese.Forward(x)).Message, StringComparison.Ordinal);
        Assert.Contains("two inputs", Assert.Throws<ArgumentException>(() => siamese.Forward(x, x, x)).Message, StringComparison.Ordinal);
        var linear = new Linear(4, 2, generator: new Generator(1));
        var e = Assert.Throws<ArgumentException>(() => linear.Forward(x, x));
        Assert.Contains("Linear", e.Message, StringComparison.Ordinal);
        Assert.Contains("got 2", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void One_input_modules_accept_the_params_form()
    {
        var seq = new Sequential(new Linear(4, 2, generator: new Generator(1)), new ReLU());
        var x = Tensor.Randn(new Generator(5), 3, 4);
        Tensor[] one = [x];
        Assert.Equal(seq.Forward(x).ToArray(), seq.Forward(one).ToArray());
        Assert.Equal(seq.Forward(x).ToArray(), seq.Call(one).ToArray());
    }
}
