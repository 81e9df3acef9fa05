namespace CnnSharp.IO.Torch;

/// <summary>The legacy typed-storage classes that <c>torch.save</c> names in a storage's persistent id, and their element types.</summary>
internal static class TorchStorageTypes
{
    private static readonly Dictionary<string, SafeTensorDType> s_types = new(StringComparer.Ordinal)
    {
        ["FloatStorage"] = SafeTensorDType.Float32,
        ["DoubleStorage"] = SafeTensorDType.Float64,
        ["HalfStorage"] = SafeTensorDType.Float16,
        ["BFloat16Storage"] = SafeTensorDType.BFloat16,
        ["LongStorage"] = SafeTensorDType.Int64,
        ["IntStorage"] = SafeTensorDType.Int32,
        ["ShortStorage"] = SafeTensorDType.Int16,
        ["CharStorage"] = SafeTensorDType.Int8,
        ["ByteStorage"] = SafeTensorDType.UInt8,
        ["BoolStorage"] = SafeTensorDType.Bool,
    };

    /// <summary>The element type of <c>torch.&lt;name&gt;</c>, or false when <paramref name="global"/> is not a storage type.</summary>
    public static bool TryGet(PickleGlobal global, out SafeTensorDType dtype)
    {
        dtype = default;
        return global.Module == "torch" && s_types.TryGetValue(global.Name, out dtype);
    }

    /// <summary>True for <c>torch.FloatStorage</c> and the other names above.</summary>
    public static bool IsStorageType(string module, string name) => module == "torch" && s_types.ContainsKey(name);
}
