namespace CnnSharp.Onnx;

/// <summary>ONNX tensor element types (<c>TensorProto.DataType</c>), with the numeric values the format uses.</summary>
public enum OnnxDataType
{
    /// <summary>Not set.</summary>
    Undefined = 0,
    /// <summary>float32.</summary>
    Float = 1,
    /// <summary>uint8.</summary>
    UInt8 = 2,
    /// <summary>int8.</summary>
    Int8 = 3,
    /// <summary>uint16.</summary>
    UInt16 = 4,
    /// <summary>int16.</summary>
    Int16 = 5,
    /// <summary>int32.</summary>
    Int32 = 6,
    /// <summary>int64.</summary>
    Int64 = 7,
    /// <summary>UTF-8 string (not supported as tensor data).</summary>
    String = 8,
    /// <summary>bool (one byte, 0 or 1).</summary>
    Bool = 9,
    /// <summary>IEEE 754 half precision.</summary>
    Float16 = 10,
    /// <summary>float64.</summary>
    Double = 11,
    /// <summary>uint32.</summary>
    UInt32 = 12,
    /// <summary>uint64.</summary>
    UInt64 = 13,
    /// <summary>complex64 (not supported as tensor data).</summary>
    Complex64 = 14,
    /// <summary>complex128 (not supported as tensor data).</summary>
    Complex128 = 15,
    /// <summary>bfloat16.</summary>
    BFloat16 = 16,
}
