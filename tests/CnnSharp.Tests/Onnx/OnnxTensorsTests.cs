using CnnSharp.Onnx;
using CnnSharp.Onnx.Protos;
using CnnSharp.Tests.TestUtilities;
using Google.Protobuf;
using DataType = CnnSharp.Onnx.Protos.TensorProto.Types.DataType;

namespace CnnSharp.Tests.Onnx;

public sealed class OnnxTensorsTests
{
    private static TensorProto Proto(DataType type, params long[] dims)
    {
        var p = new TensorProto { Name = "t", DataType = (int)type };
        p.Dims.AddRange(dims);
        return p;
    }

    private static OnnxTensor Decode(TensorProto p) => OnnxTensors.Parse(p.ToByteArray(), "t.pb");

    private static OnnxFormatException Fails(TensorProto p, params string[] fragments)
    {
        var ex = Assert.Throws<OnnxFormatException>(() => Decode(p));
        Assert.StartsWith("t.pb: tensor 't' ", ex.Message);
        Assert.Equal("t.pb", ex.FileName);
        foreach (string f in fragments) Assert.Contains(f, ex.Message);
        return ex;
    }

    [Fact]
    public void Raw_data_round_trips_every_supported_type_bit_for_bit()
    {
        var rng = new Random(3);
        foreach (OnnxDataType type in Enum.GetValues<OnnxDataType>())
        {
            if (type is OnnxDataType.Undefined or OnnxDataType.String or OnnxDataType.Complex64 or OnnxDataType.Complex128) continue;
            int size = type switch
            {
                OnnxDataType.Double or OnnxDataType.Int64 or OnnxDataType.UInt64 => 8,
                OnnxDataType.Float or OnnxDataType.Int32 or OnnxDataType.UInt32 => 4,
                OnnxDataType.Float16 or OnnxDataType.BFloat16 or OnnxDataType.Int16 or OnnxDataType.UInt16 => 2,
                _ => 1,
            };
            var bytes = new byte[6 * size];
            rng.NextBytes(bytes);
            if (type == OnnxDataType.Bool) bytes = [0, 1, 1, 0, 1, 0];
            var tensor = new OnnxTensor("x", type, new Shape(2, 3), bytes);

            var back = OnnxTensors.Parse(OnnxTensors.ToBytes(tensor));

            Assert.Equal(type, back.DataType);
            Assert.Equal("x", back.Name);
            Assert.Equal(new Shape(2, 3), back.Shape);
            Assert.True(bytes.AsSpan().SequenceEqual(back.RawData), $"{type} bytes differ");
        }
    }

    [Fact]
    public void Typed_fields_decode_to_the_same_values_as_raw_data()
    {
        var floats = Proto(DataType.Float, 2);
        floats.FloatData.Add([1.5f, -2f]);
        Assert.Equal([1.5f, -2f], Decode(floats).ToFloatArray());

        var doubles = Proto(DataType.Double, 2);
        doubles.DoubleData.Add([0.1, 3.0]);
        Assert.Equal([0.1f, 3f], Decode(doubles).ToFloatArray());

        var longs = Proto(DataType.Int64, 3);
        longs.Int64Data.Add([-1, 1568, long.MaxValue]);
        Assert.Equal([-1L, 1568L, long.MaxValue], Decode(longs).ToInt64Array());

        var ints = Proto(DataType.Int32, 2);
        ints.Int32Data.Add([-7, 9]);
        Assert.Equal([-7L, 9L], Decode(ints).ToInt64Array());

        var bytes = Proto(DataType.Uint8, 2);
        bytes.Int32Data.Add([0, 255]);
        Assert.Equal([0f, 255f], Decode(bytes).ToFloatArray());

        var bools = Proto(DataType.Bool, 3);
        bools.Int32Data.Add([1, 0, 1]);
        Assert.Equal([true, false, true], Decode(bools).ToBoolArray());

        var halves = Proto(DataType.Float16, 2);
        halves.Int32Data.Add([0x3C00, 0xC100]); // 1.0 and -2.5 as half bit patterns
        Assert.Equal([1f, -2.5f], Decode(halves).ToFloatArray());

        var uints = Proto(DataType.Uint32, 1);
        uints.Uint64Data.Add(4_000_000_000UL);
        Assert.Equal([4_000_000_000L], Decode(uints).ToInt64Array());

        var scalar = Proto(DataType.Float);
        scalar.FloatData.Add(42f);
        var s = Decode(scalar);
        Assert.Equal(0, s.Shape.Rank);
        Assert.Equal(42f, s.ToTensor().Item());
    }

    [Fact]
    public void Raw_data_length_must_match_shape_and_type()
    {
        var p = Proto(DataType.Float, 2, 3);
        p.RawData = ByteString.CopyFrom(new byte[20]);
        Fails(p, "raw_data has 20 bytes but FLOAT (2, 3) needs 24 (6 elements x 4)");
    }

    [Fact]
    public void Typed_value_count_must_match_shape()
    {
        var p = Proto(DataType.Int64, 4);
        p.Int64Data.Add([1, 2, 3]);
        Fails(p, "int64_data has 3 values but INT64 (4) needs 4");
    }

    [Fact]
    public void Values_in_the_wrong_field_are_rejected()
    {
        var p = Proto(DataType.Float, 2);
        p.Int64Data.Add([1, 2]);
        Fails(p, "its values are in int64_data", "FLOAT data belongs in float_data or raw_data");

        var both = Proto(DataType.Float, 1);
        both.RawData = ByteString.CopyFrom(new byte[4]);
        both.FloatData.Add(1f);
        Fails(both, "has both raw_data and float_data");
    }

    [Fact]
    public void Negative_and_overflowing_dimensions_are_rejected()
    {
        Fails(Proto(DataType.Float, 2, -3), "dimension 1 is -3");
        Fails(Proto(DataType.Float, 1L << 40, 1L << 40), "have more than 2147483647 elements");
        Fails(Proto(DataType.Float, 65536, 65536), "have more than 2147483647 elements");
    }

    [Fact]
    public void Out_of_range_integer_values_are_rejected()
    {
        var p = Proto(DataType.Int8, 2);
        p.Int32Data.Add([5, 300]);
        Fails(p, "element 1 = 300 does not fit");

        var half = Proto(DataType.Float16, 1);
        half.Int32Data.Add(70000);
        Fails(half, "element 0 = 70000 is not a 16-bit pattern");
    }

    [Fact]
    public void External_data_is_refused_without_touching_the_named_path()
    {
        var p = Proto(DataType.Float, 4);
        p.DataLocation = TensorProto.Types.DataLocation.External;
        p.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = "../../../etc/passwd" });
        p.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = "0" });

        Fails(p, "external file (location '../../../etc/passwd')", "external data is not supported");
    }

    [Fact]
    public void Unsupported_types_are_rejected_by_name()
    {
        var p = Proto(DataType.String, 1);
        p.StringData.Add(ByteString.CopyFromUtf8("hi"));
        Fails(p, "element type STRING is not supported");
        Fails(Proto(DataType.Complex64, 1), "element type COMPLEX64 is not supported");
        Fails(new TensorProto { Name = "t", DataType = 99 }, "element type data type 99 is not supported");
    }

    [Fact]
    public void Malformed_protobuf_bytes_give_an_onnx_format_exception_naming_the_source()
    {
        // Field 9 (raw_data), length-delimited, claiming 2^31-1 bytes with 3 present.
        byte[] truncated = [0x4A, 0xFF, 0xFF, 0xFF, 0xFF, 0x07, 1, 2, 3];
        var ex = Assert.Throws<OnnxFormatException>(() => OnnxTensors.Parse(truncated, "input_0.pb"));
        Assert.StartsWith("input_0.pb: not a valid ONNX TensorProto (9 bytes)", ex.Message);
        Assert.IsType<InvalidProtocolBufferException>(ex.InnerException);

        Assert.Throws<OnnxFormatException>(() => OnnxTensors.Parse([0xFF, 0xFF, 0xFF], "junk.pb"));
    }

    [Fact]
    public void Write_then_Read_file_round_trips()
    {
        using var dir = new TempDirectory();
        string path = dir.File("input_0.pb");
        var tensor = OnnxTensor.FromTensor("input", Tensor.FromArray([1f, float.NaN, -0f, 3.5f], 2, 2));

        OnnxTensors.Write(path, tensor);
        var back = OnnxTensors.Read(path);

        Assert.Equal("input", back.Name);
        Assert.Equal(new Shape(2, 2), back.Shape);
        Assert.True(tensor.RawData.SequenceEqual(back.RawData));
    }

    [Fact]
    public void Factories_validate_types_counts_and_ranges()
    {
        Assert.Equal([1L, -2L], OnnxTensor.FromInt64("i", [1, -2], new Shape(2), OnnxDataType.Int32).ToInt64Array());
        Assert.Equal([true, false], OnnxTensor.FromBools("b", [true, false], new Shape(2)).ToBoolArray());
        Assert.Equal([0.5f], OnnxTensor.FromFloats("d", [0.5f], new Shape(1), OnnxDataType.Double).ToFloatArray());
        Assert.Throws<ArgumentException>(() => OnnxTensor.FromFloats("f", [1f], new Shape(1), OnnxDataType.Int64));
        Assert.Throws<ArgumentException>(() => OnnxTensor.FromInt64("i", [1, 2, 3], new Shape(2)));
        Assert.Contains("does not fit in UInt8", Assert.Throws<ArgumentException>(() => OnnxTensor.FromInt64("u", [256], new Shape(1), OnnxDataType.UInt8)).Message);
        Assert.Contains("not an integer type", Assert.Throws<InvalidOperationException>(() => OnnxTensor.FromFloats("f", [1f], new Shape(1)).ToInt64Array()).Message);
        Assert.Contains("is not BOOL", Assert.Throws<InvalidOperationException>(() => OnnxTensor.FromFloats("f", [1f], new Shape(1)).ToBoolArray()).Message);
    }
}
