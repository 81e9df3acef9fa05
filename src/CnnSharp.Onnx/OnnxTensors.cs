using System.Buffers.Binary;
using CnnSharp.IO;
using CnnSharp.Onnx.Protos;
using Google.Protobuf;

namespace CnnSharp.Onnx;

/// <summary>
/// Converts between serialized ONNX <c>TensorProto</c> messages and <see cref="OnnxTensor"/>: reads the test-data files
/// of the ONNX backend-test layout (<c>test_data_set_0/input_0.pb</c>, <c>output_0.pb</c>) and writes them.
/// </summary>
/// <remarks>
/// Reading accepts <c>raw_data</c> (little-endian) and the typed fields (<c>float_data</c>, <c>double_data</c>,
/// <c>int64_data</c>, <c>int32_data</c> for INT32/INT16/INT8/UINT16/UINT8/BOOL/FLOAT16/BFLOAT16 bit patterns,
/// <c>uint64_data</c> for UINT32/UINT64). Before any conversion it checks that every dimension is non-negative, that
/// the element count fits (overflow-checked), and that the data length equals element count times element size.
/// Tensors whose data lives in an external file are refused: no path named inside a model is ever opened.
/// Writing always uses <c>raw_data</c>, as PyTorch's exporter does.
/// </remarks>
public static class OnnxTensors
{
    /// <summary>Reads a file holding one serialized <c>TensorProto</c>.</summary>
    /// <param name="path">The file (e.g. <c>test_data_set_0/input_0.pb</c>); named in error messages.</param>
    /// <exception cref="OnnxFormatException">The bytes are not a valid TensorProto, or the tensor is malformed or unsupported.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static OnnxTensor Read(string path) => Parse(OnnxProtobuf.ReadFile(path), path);

    /// <summary>Decodes one serialized <c>TensorProto</c>.</summary>
    /// <param name="bytes">The serialized message.</param>
    /// <param name="sourceName">Name used in error messages.</param>
    /// <exception cref="OnnxFormatException">The bytes are not a valid TensorProto, or the tensor is malformed or unsupported.</exception>
    public static OnnxTensor Parse(byte[] bytes, string sourceName = "<memory>")
    {
        ArgumentNullException.ThrowIfNull(bytes);
        ArgumentNullException.ThrowIfNull(sourceName);
        var proto = OnnxProtobuf.Parse(TensorProto.Parser, bytes, sourceName, "TensorProto");
        return Decode(proto, sourceName, proto.Name.Length == 0 ? "tensor" : $"tensor '{proto.Name}'");
    }

    /// <summary>Serializes <paramref name="tensor"/> as a <c>TensorProto</c> with <c>raw_data</c>.</summary>
    public static byte[] ToBytes(OnnxTensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        return Encode(tensor).ToByteArray();
    }

    /// <summary>Writes <paramref name="tensor"/> as a serialized <c>TensorProto</c>, atomically (temporary sibling file, then rename).</summary>
    /// <exception cref="IOException">The file cannot be written; any previous file is left as it was.</exception>
    public static void Write(string path, OnnxTensor tensor)
    {
        byte[] bytes = ToBytes(tensor);
        AtomicFile.Write(path, stream => stream.Write(bytes));
    }

    internal static TensorProto Encode(OnnxTensor tensor)
    {
        var proto = new TensorProto
        {
            Name = tensor.Name,
            DataType = (int)tensor.DataType,
            RawData = ByteString.CopyFrom(tensor.RawBytes),
        };
        foreach (int d in tensor.Shape) proto.Dims.Add(d);
        return proto;
    }

    /// <summary>Validates and decodes a TensorProto. <paramref name="context"/> names it in messages ("initializer 'w'").</summary>
    internal static OnnxTensor Decode(TensorProto p, string source, string context)
    {
        if (p.DataLocation == TensorProto.Types.DataLocation.External || p.ExternalData.Count > 0)
        {
            string location = p.ExternalData.FirstOrDefault(e => e.Key == "location")?.Value ?? "(none given)";
            throw Fail(source, context,
                $"stores its data in an external file (location '{Clip(location)}'); external data is not supported, so no path named in a model is opened. Save the model with its tensors inside the .onnx file");
        }
        if (p.Segment is not null)
            throw Fail(source, context, "is a segment of a larger tensor; segmented tensors are not supported");

        var type = (OnnxDataType)p.DataType;
        if (!OnnxTensor.TryGetKind(type, out var kind))
            throw Fail(source, context, $"element type {DataTypeName(p.DataType)} is not supported (supported: FLOAT, DOUBLE, FLOAT16, BFLOAT16, INT8/16/32/64, UINT8/16/32/64, BOOL)");

        var dims = new int[p.Dims.Count];
        long numel = 1;
        for (int i = 0; i < dims.Length; i++)
        {
            long d = p.Dims[i];
            if (d < 0) throw Fail(source, context, $"dimension {i} is {d} in dims [{string.Join(", ", p.Dims)}]; dimensions must be non-negative");
            if (d > int.MaxValue || (numel = SaturatingMultiply(numel, d)) > int.MaxValue)
                throw Fail(source, context, $"dims [{string.Join(", ", p.Dims)}] have more than {int.MaxValue} elements");
            dims[i] = (int)d;
        }
        var shape = new Shape(dims);
        int size = ElementCodec.Size(kind);
        long nbytes = numel * size;
        string described = $"{DataTypeName(p.DataType)} {shape}";

        var fields = new (string Name, int Count)[]
        {
            ("float_data", p.FloatData.Count), ("int32_data", p.Int32Data.Count), ("int64_data", p.Int64Data.Count),
            ("double_data", p.DoubleData.Count), ("uint64_data", p.Uint64Data.Count), ("string_data", p.StringData.Count),
        };

        if (p.HasRawData)
        {
            foreach (var f in fields)
                if (f.Count > 0) throw Fail(source, context, $"has both raw_data and {f.Name}; a tensor stores its data in one field");
            if (p.RawData.Length != nbytes)
                throw Fail(source, context, $"raw_data has {p.RawData.Length} bytes but {described} needs {nbytes} ({numel} elements x {size})");
            return new OnnxTensor(p.Name, type, shape, p.RawData.ToByteArray());
        }

        string expectedField = TypedField(type);
        foreach (var f in fields)
        {
            if (f.Name != expectedField && f.Count > 0)
                throw Fail(source, context, $"holds {described} but its values are in {f.Name} ({f.Count} values); {DataTypeName(p.DataType)} data belongs in {expectedField} or raw_data");
        }
        int count = fields.First(f => f.Name == expectedField).Count;
        if (count != numel)
            throw Fail(source, context, $"{expectedField} has {count} values but {described} needs {numel}");
        if (nbytes > Array.MaxLength)
            throw Fail(source, context, $"{described} needs {nbytes} bytes, more than one array can hold");

        try
        {
            return new OnnxTensor(p.Name, type, shape, DecodeTyped(p, kind, (int)numel));
        }
        catch (OverflowException e)
        {
            throw Fail(source, context, $"{expectedField} {e.Message} for {DataTypeName(p.DataType)}");
        }
    }

    private static byte[] DecodeTyped(TensorProto p, ElementKind kind, int numel)
    {
        switch (kind)
        {
            case ElementKind.Float32:
            {
                var values = new float[numel];
                p.FloatData.CopyTo(values, 0);
                return ElementCodec.FromFloat32(values, kind);
            }
            case ElementKind.Float64:
            {
                var bytes = new byte[numel * 8];
                for (int i = 0; i < numel; i++) BinaryPrimitives.WriteDoubleLittleEndian(bytes.AsSpan(8 * i), p.DoubleData[i]);
                return bytes;
            }
            case ElementKind.Int64:
            {
                var values = new long[numel];
                p.Int64Data.CopyTo(values, 0);
                return ElementCodec.FromInt64(values, kind);
            }
            case ElementKind.Float16 or ElementKind.BFloat16:
            {
                // 16-bit floats travel as their bit patterns in int32_data.
                var bytes = new byte[numel * 2];
                for (int i = 0; i < numel; i++)
                {
                    int bits = p.Int32Data[i];
                    if (bits is < 0 or > ushort.MaxValue) throw new OverflowException($"element {i} = {bits} is not a 16-bit pattern");
                    BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(2 * i), (ushort)bits);
                }
                return bytes;
            }
            case ElementKind.UInt32 or ElementKind.UInt64:
            {
                var bytes = new byte[numel * ElementCodec.Size(kind)];
                for (int i = 0; i < numel; i++)
                {
                    ulong v = p.Uint64Data[i];
                    if (kind == ElementKind.UInt64) BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(8 * i), v);
                    else if (v <= uint.MaxValue) BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4 * i), (uint)v);
                    else throw new OverflowException($"element {i} = {v} does not fit");
                }
                return bytes;
            }
            default:
            {
                var values = new long[numel];
                for (int i = 0; i < numel; i++) values[i] = p.Int32Data[i];
                return ElementCodec.FromInt64(values, kind);
            }
        }
    }

    private static string TypedField(OnnxDataType type) => type switch
    {
        OnnxDataType.Float => "float_data",
        OnnxDataType.Double => "double_data",
        OnnxDataType.Int64 => "int64_data",
        OnnxDataType.UInt32 or OnnxDataType.UInt64 => "uint64_data",
        _ => "int32_data",
    };

    /// <summary>The format's upper-case name of a data type number (<c>FLOAT</c>, <c>INT64</c>), or the number itself.</summary>
    internal static string DataTypeName(int dataType) => dataType switch
    {
        >= 0 and <= 16 => ((OnnxDataType)dataType).ToString().ToUpperInvariant(),
        _ => $"data type {dataType}",
    };

    private static long SaturatingMultiply(long a, long b) =>
        b != 0 && a > long.MaxValue / b ? long.MaxValue : a * b;

    internal static string Clip(string text) => text.Length <= 80 ? text : text[..80] + "...";

    private static OnnxFormatException Fail(string source, string context, string detail) => new(source, $"{context} {detail}", null);
}
