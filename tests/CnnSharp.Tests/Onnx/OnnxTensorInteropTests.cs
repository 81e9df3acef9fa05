using CnnSharp.Functional;
using CnnSharp.Kernels;
using CnnSharp.Onnx;
using CnnSharp.Onnx.Runtime;

namespace CnnSharp.Tests.Onnx;

/// <summary>
/// The ONNX runtime on the library's tensor types: operators take <see cref="Tensor"/>s from F and
/// <see cref="LongTensor"/>s directly, give tensors F consumes, and broadcast with F's broadcaster (same shapes, same
/// bits, same errors).
/// </summary>
public sealed class OnnxTensorInteropTests
{
    private static OnnxOp Op(string opType, int inputs) =>
        OpRegistry.Create(new OnnxNode(0, "n", opType, "", [.. Enumerable.Range(0, inputs).Select(i => $"x{i}")], ["y"], []), 13, "test.onnx", _ => null);

    private static OnnxValue Execute(string opType, params OnnxValue[] inputs)
    {
        var outputs = new OnnxValue?[1];
        Op(opType, inputs.Length).Execute(new OpContext(null, 1L << 20, n => $"{n} elements"), [.. inputs], outputs);
        return outputs[0]!;
    }

    [Fact]
    public void An_onnx_operator_takes_a_tensor_from_F_and_its_result_feeds_F()
    {
        var relu = F.Relu(Tensor.FromArray([-1f, 2f, -3f, 4f, -5f, 6f], 2, 3));
        var bias = Tensor.FromArray([10f, 20f, 30f], 3);

        Tensor sum = Execute("Add", relu, bias).AsTensor();
        var doubled = F.Mul(sum, Tensor.FromArray([2f], 1));

        Assert.Equal(new Shape(2, 3), sum.Shape);
        Assert.Equal([20f, 44f, 60f, 28f, 40f, 72f], doubled.ToArray());
        // No copy on the way in: the value is the tensor.
        OnnxValue wrapped = relu;
        Assert.Same(relu, wrapped.AsTensor());
    }

    public static TheoryData<int[], int[]> BroadcastShapes => new()
    {
        { [2, 3, 4], [3, 1] },
        { [1, 4], [3, 1] },
        { [5], [] },
        { [2, 1, 3], [2, 3] },
        { [3, 4], [3, 4] },
        { [2, 3, 4, 5], [1, 3, 1, 5] },
    };

    [Theory]
    [MemberData(nameof(BroadcastShapes))]
    public void Onnx_arithmetic_gives_Fs_bits_for_every_broadcast(int[] shapeA, int[] shapeB)
    {
        var g = new Generator(7);
        var a = Tensor.Randn(g, shapeA);
        var b = F.Add(Tensor.Rand(g, shapeB), Tensor.FromArray([0.5f], 1).Reshape()); // away from 0 for Div

        Assert.Equal(F.Add(a, b).ToArray(), Execute("Add", a, b).AsTensor().ToArray());
        Assert.Equal(F.Sub(b, a).ToArray(), Execute("Sub", b, a).AsTensor().ToArray());
        Assert.Equal(F.Mul(a, b).ToArray(), Execute("Mul", a, b).AsTensor().ToArray());
        Assert.Equal(F.Div(a, b).ToArray(), Execute("Div", a, b).AsTensor().ToArray());
    }

    [Fact]
    public void Onnx_and_F_refuse_incompatible_shapes_with_the_same_message()
    {
        var a = Tensor.Zeros(2, 3);
        var b = Tensor.Zeros(2, 4);

        var fromF = Assert.Throws<ShapeException>(() => F.Add(a, b));
        var fromOnnx = Assert.Throws<ShapeException>(() => Execute("Add", a, b));

        Assert.Equal(fromF.Message, fromOnnx.Message);
        Assert.Contains("(2, 3) and (2, 4) cannot be broadcast (dimension 1: 3 vs 4)", fromOnnx.Message);
    }

    [Fact]
    public void Expand_reads_its_target_shape_from_a_LongTensor()
    {
        var x = Tensor.FromArray([1f, 2f, 3f], 3, 1);

        var y = Execute("Expand", x, LongTensor.FromValues(2, 1, 2)).AsTensor();

        Assert.Equal(new Shape(2, 3, 2), y.Shape);
        Assert.Equal([1f, 1f, 2f, 2f, 3f, 3f, 1f, 1f, 2f, 2f, 3f, 3f], y.ToArray());
    }

    [Fact]
    public void Integer_operands_broadcast_through_the_same_rows_and_come_back_as_LongTensors()
    {
        var a = new LongTensor([1, 2, 3, 4, 5, 6], new Shape(2, 3));
        var b = LongTensor.FromValues(10, 20, 30);

        LongTensor sum = Execute("Add", a, b).AsLongTensor();
        LongTensor quotient = Execute("Div", a, LongTensor.FromValues(-2)).AsLongTensor();

        Assert.Equal([11L, 22L, 33L, 14L, 25L, 36L], sum.ToArray());
        Assert.Equal(new Shape(2, 3), sum.Shape);
        // Integer division truncates toward zero.
        Assert.Equal([0L, -1L, -1L, -2L, -2L, -3L], quotient.ToArray());
        Assert.Contains("integer division by zero", Assert.Throws<ShapeException>(() => Execute("Div", a, LongTensor.FromValues(0))).Message);
        Assert.Contains("differ", Assert.Throws<ShapeException>(() => Execute("Add", a, Tensor.Zeros(3))).Message);
    }

    [Fact]
    public void A_value_of_the_other_kind_is_refused_by_name()
    {
        OnnxValue longs = LongTensor.FromValues(1);
        OnnxValue floats = Tensor.Zeros(1);

        Assert.Contains("expected a FLOAT value but got (1) INT64", Assert.Throws<ShapeException>(() => longs.AsTensor()).Message);
        Assert.Contains("expected an integer value", Assert.Throws<ShapeException>(() => floats.AsLongTensor()).Message);
    }

    [Fact]
    public void Max_Min_and_Pow_run_on_the_shared_kernels_with_NaN_propagating()
    {
        var a = Tensor.FromArray([1f, float.NaN, 3f, -2f], 4);
        var b = Tensor.FromArray([2f], 1);

        Assert.Equal([2f, float.NaN, 3f, 2f], Execute("Max", a, b).AsTensor().ToArray());
        Assert.Equal([1f, float.NaN, 2f, -2f], Execute("Min", a, b).AsTensor().ToArray());
        Assert.Equal([1f, float.NaN, 9f, 4f], Execute("Pow", a, b).AsTensor().ToArray());
        Assert.Equal(float.NaN, BinaryKernels.Apply(Arithmetic.Max, 1f, float.NaN));
    }

    [Fact]
    public void The_forward_only_operators_have_no_gradient_kernel()
    {
        float[] gy = [1f], a = [2f], b = [3f], g = [0f], scratch = [0f];

        Assert.Throws<NotSupportedException>(() => BinaryKernels.Contribution(Arithmetic.Pow, true, gy, a, b, g));
        Assert.Throws<NotSupportedException>(() => BinaryKernels.Accumulate(Arithmetic.Max, false, gy, a, b, g, scratch));
    }

    [Fact]
    public void Integer_data_crosses_the_public_API_as_LongTensor()
    {
        var ids = new LongTensor([3, -1, 4, 1], new Shape(2, 2));

        var onnx = OnnxTensor.FromTensor("ids", ids, OnnxDataType.Int32);

        Assert.Equal(OnnxDataType.Int32, onnx.DataType);
        Assert.Equal(ids.ToArray(), onnx.ToLongTensor().ToArray());
        Assert.Equal(ids.Shape, onnx.ToLongTensor().Shape);
        Assert.Throws<ArgumentException>(() => OnnxTensor.FromTensor("u8", ids, OnnxDataType.UInt8));
    }

    [Fact]
    public void Broadcast_Expand_repeats_size_one_dimensions()
    {
        var y = new long[12];

        Broadcast.Expand([1L, 2L, 3L], new Shape(1, 3, 1), new Shape(2, 3, 2), y);

        Assert.Equal([1L, 1L, 2L, 2L, 3L, 3L, 1L, 1L, 2L, 2L, 3L, 3L], y);
        Assert.Throws<ShapeException>(() => Broadcast.Expand([1L, 2L], new Shape(2), new Shape(3), new long[3]));
    }
}
