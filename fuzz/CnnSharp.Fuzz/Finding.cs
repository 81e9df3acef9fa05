namespace CnnSharp.Fuzz;

/// <summary>An input that broke a promise: an untyped exception, a hang past the timeout, or too much memory.</summary>
internal sealed record Finding(string Target, string Kind, string Signature, string Detail, byte[] Input)
{
    /// <summary>Writes the input and a description under <paramref name="directory"/>/target/; returns the input's path.</summary>
    public string Save(string directory)
    {
        string folder = Path.Combine(directory, Target);
        Directory.CreateDirectory(folder);
        string stem = $"{Kind}-{Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(Input))[..16].ToLowerInvariant()}";
        string path = Path.Combine(folder, stem + ".bin");
        File.WriteAllBytes(path, Input);
        File.WriteAllText(Path.Combine(folder, stem + ".txt"), $"target: {Target}\nkind: {Kind}\nsignature: {Signature}\n\n{Detail}\n");
        return path;
    }
}
