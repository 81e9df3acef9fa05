using System.Text;
using CnnSharp.IO;

namespace CnnSharp.Fuzz.Targets;

/// <summary>PyTorch .pt: <see cref="TorchFile.Deserialize"/> (zip layout, restricted unpickler, strided copies) and the conversion to a state dict.</summary>
internal sealed class TorchTarget : FuzzTarget
{
    public override string Name => "pt";

    public override IReadOnlyList<byte[]> Dictionary { get; } =
        [.. new[] { "ccollections\nOrderedDict\n", "ctorch._utils\n_rebuild_tensor_v2\n", "ctorch\nFloatStorage\n", "ctorch\nLongStorage\n",
            "cposix\nsystem\n", "\u0080\u0002", ")R", "(", "t", "u", "Q", "b", ".", "h\u0000", "q\u0000", "K\u0000", "J\u0000\u0000\u0000\u0000",
            "X\u0001\u0000\u0000\u00000", "storage", "cpu", "data.pkl", "/data/", "PK\u0003\u0004", "PK\u0001\u0002" }.Select(Encoding.Latin1.GetBytes)];

    public override string Execute(byte[] input)
    {
        var file = TorchFile.Deserialize(input, "fuzz.pt");
        string dtypes = string.Join(",", file.Entries.Select(e => e.DType).Distinct().Order());
        string described = $"{Math.Min(file.Count, 4)} tensors of {dtypes}";
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

    public override bool IsExpected(Exception error) => error is TorchFormatException;

    // The zip's declared sizes: compressed and uncompressed size of every local header (PK\x03\x04, at +18 and +22) and
    // central-directory header (PK\x01\x02, at +20 and +24), the lengths a lying archive would change.
    public override IEnumerable<LengthField> LengthFields(byte[] input)
    {
        for (int i = 0; i + 30 <= input.Length; i++)
        {
            if (input[i] != 0x50 || input[i + 1] != 0x4b) continue;
            if (input[i + 2] == 3 && input[i + 3] == 4)
            {
                yield return new LengthField(i + 18, 4, BigEndian: false);
                yield return new LengthField(i + 22, 4, BigEndian: false);
            }
            else if (input[i + 2] == 1 && input[i + 3] == 2)
            {
                yield return new LengthField(i + 20, 4, BigEndian: false);
                yield return new LengthField(i + 24, 4, BigEndian: false);
            }
        }
    }
}
