using System.Text;
using CnnSharp.IO;

namespace CnnSharp.Fuzz.Targets;

/// <summary>safetensors: <see cref="SafeTensors.Deserialize"/> and the conversion to a state dict.</summary>
internal sealed class SafeTensorsTarget : FuzzTarget
{
    public override string Name => "safetensors";

    public override IReadOnlyList<byte[]> Dictionary { get; } =
        [.. new[] { "\"dtype\"", "\"shape\"", "\"data_offsets\"", "\"__metadata__\"", "\"F32\"", "\"F64\"", "\"F16\"", "\"BF16\"",
            "\"I64\"", "\"U8\"", "\"BOOL\"", "[", "]", "{", "}", ",", ":", "[]", "null", "\"\"" }.Select(Encoding.ASCII.GetBytes)];

    public override string Execute(byte[] input)
    {
        var file = SafeTensors.Deserialize(input, "fuzz.safetensors");
        string dtypes = string.Join(",", file.Entries.Select(e => e.DType).Distinct().Order());
        string described = $"{Math.Min(file.Count, 4)} tensors of {dtypes}, metadata {file.Metadata.Count > 0}";
        try
        {
            file.ToStateDict();
        }
        catch (SafeTensorsFormatException)
        {
            return described + ", not a state dict";
        }
        return described;
    }

    public override bool IsExpected(Exception error) => error is SafeTensorsFormatException;

    // The 8-byte little-endian header length.
    public override IEnumerable<LengthField> LengthFields(byte[] input) => [new LengthField(0, 8, BigEndian: false)];
}
