namespace CnnSharp.Tests;

/// <summary>The int64 tensor: shape checks, shared storage, indexing and the float conversions.</summary>
public sealed class LongTensorTests
{
    [Fact]
    public void Wraps_the_array_without_copying_and_indexes_row_major()
    {
        long[] data = [1, 2, 3, 4, 5, 6];
        var t = new LongTensor(data, new Shape(2, 3));

        t[1, 0] = 40;
        t.Data[5] = 60;

        Assert.Equal(40, data[3]);
        Assert.Equal(60, t[1, 2]);
        Assert.Equal(2, t.Rank);
        Assert.Equal(6, t.Numel);
        Assert.Equal(3, t.Size(-1));
        Assert.Equal("LongTensor(2, 3)", t.ToString());
    }

    [Fact]
    public void A_shape_that_does_not_match_the_element_count_is_refused()
    {
        var ex = Assert.Throws<ShapeException>(() => new LongTensor(new long[5], new Shape(2, 3)));
        Assert.Contains("5 values cannot have shape (2, 3)", ex.Message);
        Assert.Throws<ShapeException>(() => new LongTensor(new long[6], new Shape(2, 3))[0]);
        Assert.Throws<IndexOutOfRangeException>(() => new LongTensor(new long[6], new Shape(2, 3))[2, 0]);
    }

    [Fact]
    public void FromValues_copies_and_Clone_and_ToArray_do_not_share()
    {
        long[] values = [7, 8];
        var t = LongTensor.FromValues(values);
        values[0] = 0;
        var copy = t.Clone();
        copy.Data[1] = 0;
        t.ToArray()[0] = 0;

        Assert.Equal([7L, 8L], t.ToArray());
        Assert.Equal(new Shape(2), t.Shape);
        Assert.Equal(8, LongTensor.FromValues(8).Item());
        Assert.Throws<InvalidOperationException>(() => t.Item());
    }

    [Fact]
    public void ToFloat_and_FromTensor_convert_like_PyTorch_float_and_long()
    {
        var t = new LongTensor([-3, 0, 16_777_217], new Shape(3, 1));

        var f = t.ToFloat();

        Assert.Equal(new Shape(3, 1), f.Shape);
        // 2^24 + 1 is not a float: it rounds to 2^24.
        Assert.Equal([-3f, 0f, 16_777_216f], f.ToArray());
        // .long() truncates toward zero.
        Assert.Equal([2L, -2L, 0L], LongTensor.FromTensor(Tensor.FromArray([2.9f, -2.9f, -0.5f], 3)).ToArray());
    }

    [Theory]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    [InlineData(9.223372036854775808E18f)]
    public void FromTensor_refuses_values_without_an_int64(float value)
    {
        var ex = Assert.Throws<ArgumentException>(() => LongTensor.FromTensor(Tensor.FromArray([1f, value], 2)));
        Assert.Contains("element 1", ex.Message);
    }
}
