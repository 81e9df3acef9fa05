using CnnSharp.Autograd;
using CnnSharp.Functional;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Autograd;

/// <summary>The eager path's caching allocator for intermediate gradients (CachingAllocator, Engine, Tensor.ReleaseGrad).</summary>
public sealed class CachingAllocatorTests
{
    [Fact]
    public void A_returned_buffer_is_reused_and_comes_back_zeroed()
    {
        // A length no other test uses, so a concurrent test cannot take the buffer in between.
        const int length = 4099 * 3;
        var buffer = new float[length];
        buffer.AsSpan().Fill(7f);
        CachingAllocator.Return(buffer);
        var rented = CachingAllocator.RentZeroed(length);
        Assert.Same(buffer, rented);
        Assert.All(rented, v => Assert.Equal(0f, v));
        Assert.Equal(length, rented.Length);
    }

    [Fact]
    public void Short_buffers_are_left_to_the_garbage_collector()
    {
        var buffer = new float[CachingAllocator.MinLength - 1];
        CachingAllocator.Return(buffer);
        Assert.NotSame(buffer, CachingAllocator.RentZeroed(buffer.Length));
    }

    [Fact]
    public void An_op_output_takes_a_cached_buffer_and_overwrites_it()
    {
        const int length = 4099 * 5; // a length no other test uses
        var cached = new float[length];
        cached.AsSpan().Fill(float.NaN);
        CachingAllocator.Return(cached);
        var xv = GradCheck.RandomValues(length, 1);
        var y = F.Relu(Tensor.FromArray(xv, length));
        Assert.Same(cached, y.Storage);
        TensorAssert.Close(Reference.Relu(TensorAssert.ToDouble(xv)), y, Tolerance.Float32);
    }

    // conv -> relu -> add (residual) -> tanh -> sum, on (4, 8, 32, 32) activations: two blocks each, so threaded too.
    private static (Tensor Loss, Tensor[] Intermediates) Step(Tensor x, Tensor w)
    {
        var h1 = F.Conv2d(x, w, padding: 1);
        var h2 = F.Relu(h1);
        var h3 = h2 + h1;
        var h4 = F.Tanh(h3);
        return (h4.Sum(), [h1, h2, h3, h4]);
    }

    private static (Tensor X, Tensor W) Inputs() =>
        (Tensor.Randn(new Generator(3), 4, 3, 32, 32), Tensor.Randn(new Generator(4), 8, 3, 3, 3).RequiresGrad_());

    [Fact]
    public void Recycled_gradients_give_the_same_bits_every_step_and_non_leaf_gradients_are_not_retained()
    {
        var (x, w) = Inputs();
        float[]? first = null;
        for (int step = 0; step < 3; step++)
        {
            w.Grad = null;
            var (loss, intermediates) = Step(x, w);
            loss.Backward();
            Assert.All(intermediates, t => Assert.Null(t.Grad));
            var grad = w.Grad!.ToArray();
            first ??= grad;
            Assert.Equal(first.Select(BitConverter.SingleToInt32Bits), grad.Select(BitConverter.SingleToInt32Bits));
        }
    }

    [Fact]
    public void Leaf_gradients_are_never_recycled()
    {
        var (x, w) = Inputs();
        Step(x, w).Loss.Backward();
        var held = w.Grad!;
        var copy = held.ToArray();
        // Another graph with same-sized intermediates: if the leaf's buffer had gone to the cache it would be reused here.
        var other = Tensor.Randn(new Generator(9), 8, 3, 3, 3).RequiresGrad_();
        Step(x, other).Loss.Backward();
        Assert.Same(held, w.Grad);
        Assert.Equal(copy, held.ToArray());
    }

    [Fact]
    public void A_steady_state_eager_step_allocates_its_outputs_but_not_its_gradients()
    {
        var (x, w) = Inputs();
        const long activationBytes = 4L * 8 * 32 * 32 * sizeof(float);
        for (int i = 0; i < 2; i++) Step(x, w).Loss.Backward(); // warm-up: fills the cache, JIT, thread scratch
        long best = long.MaxValue;
        // The least of three steps, so that a collection or another test's use of the cache cannot fail the bound.
        for (int i = 0; i < 3; i++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            Step(x, w).Loss.Backward();
            best = Math.Min(best, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        // Four activations must be allocated (they are user-visible tensors); without the cache their four gradients
        // would double that. Allow a quarter of an activation for nodes, closures and small arrays.
        Assert.InRange(best, 4 * activationBytes, 4 * activationBytes + activationBytes / 4);
    }
}
