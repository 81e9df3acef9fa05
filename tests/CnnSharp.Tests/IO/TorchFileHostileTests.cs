using System.IO.Compression;
using System.Text;
using CnnSharp.IO;

namespace CnnSharp.Tests.IO;

/// <summary>
/// Files that try to run code or to make the reader misbehave (Fixtures/torch/hostile/, written by
/// tests/reference/generate_torch_fixtures.py, each described in its README; plus zip-level attacks built here). Every
/// one is refused with a typed error that names the problem, and nothing in any of them is executed.
/// </summary>
public sealed class TorchFileHostileTests
{
    private static string Hostile(string name) => TorchFileTests.FixturePath(Path.Combine("hostile", name + ".pt"));

    [Theory]
    [InlineData("posix_system_reduce", "GLOBAL", "posix.system", 2)]
    [InlineData("os_system_reduce", "GLOBAL", "os.system", 2)]
    [InlineData("builtins_eval", "STACK_GLOBAL", "builtins.eval", 20)]
    [InlineData("nested_reduce", "GLOBAL", "os.system", 193)]
    [InlineData("subprocess_popen", "GLOBAL", "subprocess.Popen", 2)]
    [InlineData("inst_opcode", "INST", "os.system", 26)]
    [InlineData("obj_opcode", "OBJ", null, 28)]
    [InlineData("build_setstate", "BUILD", null, 140)]
    [InlineData("reduce_storage_class", "REDUCE", "torch.FloatStorage", 23)]
    public void Code_execution_attempts_are_refused_naming_the_global_and_the_offset(string name, string opcode, string? global, long offset)
    {
        // The offsets are those pickletools.dis prints for the refused opcode.
        string marker = Path.Combine(Directory.GetCurrentDirectory(), "cnnsharp-pwned");
        var ex = Assert.Throws<UnsafePickleException>(() => TorchFile.Read(Hostile(name)));
        Assert.Equal(opcode, ex.Opcode);
        Assert.Equal(global, ex.Global);
        Assert.Equal("archive/data.pkl", ex.Entry);
        Assert.Equal(offset, ex.Offset);
        Assert.Contains($"{name}.pt: archive/data.pkl offset {offset}: ", ex.Message, StringComparison.Ordinal);
        if (global is not null) Assert.Contains(global, ex.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(marker), "a payload ran");
        // The same refusal through the module loader, which must leave the model untouched.
        var model = new CnnSharp.Modules.Linear(2, 2);
        float[] before = model.Weight.ToArray();
        Assert.Throws<UnsafePickleException>(() => model.LoadTorchFile(Hostile(name)));
        Assert.Equal(before, model.Weight.ToArray());
    }

    [Fact]
    public void The_refusal_names_the_allow_list_and_the_likely_cause()
    {
        var ex = Assert.Throws<UnsafePickleException>(() => TorchFile.Read(Hostile("posix_system_reduce")));
        Assert.Contains("global 'posix.system' is not allowed: a state dict needs only collections.OrderedDict, torch._utils._rebuild_tensor_v2, " +
                        "torch._utils._rebuild_parameter and torch storage types", ex.Message, StringComparison.Ordinal);
        Assert.Contains("save model.state_dict() instead", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("truncated", "the pickle ends inside an opcode (truncated file?)")]
    [InlineData("huge_string_length", "an argument of 2147483647 bytes runs past the end of the pickle (4 bytes left")]
    [InlineData("memo_out_of_range", "memo index 200 was never stored (0 memo entries)")]
    [InlineData("missing_storage", "storage '7' is referenced but the archive has no entry archive/data/7")]
    [InlineData("stride_beyond_storage", "size [10, 10] with stride [10, 1] and offset 0 reaches element 99, past the end of storage '0' (50 elements)")]
    [InlineData("storage_size_mismatch", "archive/data/0: the entry declares 8 bytes but the pickle says storage '0' holds 1000 F32 elements (4000 bytes)")]
    [InlineData("negative_size", "size [-1] has an invalid dimension 0")]
    [InlineData("storage_key_path", "storage key '../../etc/passwd' is not a plain name (letters, digits, '_'); refusing a path")]
    public void Malformed_pickles_and_lying_claims_are_refused_before_any_allocation(string name, string problem)
    {
        var ex = Assert.Throws<TorchFormatException>(() => TorchFile.Read(Hostile(name)));
        Assert.IsNotType<UnsafePickleException>(ex);
        Assert.Contains(problem, ex.Message, StringComparison.Ordinal);
        Assert.StartsWith(Hostile(name) + ": archive/data", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_hostile_fixture_is_covered_by_a_test()
    {
        var covered = new[]
        {
            "posix_system_reduce", "os_system_reduce", "builtins_eval", "nested_reduce", "subprocess_popen", "inst_opcode", "obj_opcode",
            "build_setstate", "reduce_storage_class", "truncated", "huge_string_length", "memo_out_of_range", "missing_storage",
            "stride_beyond_storage", "storage_size_mismatch", "negative_size", "storage_key_path",
        };
        var files = Directory.GetFiles(Path.GetDirectoryName(Hostile("x"))!, "*.pt").Select(Path.GetFileNameWithoutExtension);
        Assert.Equal(covered.Order(), files.Order());
    }

    // ---- zip-level attacks, built here ------------------------------------------------------------------------------

    /// <summary>A one-tensor state dict pickle (protocol 2), as torch.save writes it, over storage "0" of <paramref name="numel"/> floats.</summary>
    private static byte[] StateDictPickle(int numel)
    {
        var p = new List<byte> { 0x80, 2 };
        void Text(string s) { p.Add((byte)'X'); p.AddRange(BitConverter.GetBytes(s.Length)); p.AddRange(Encoding.UTF8.GetBytes(s)); }
        void Global(string m, string n) { p.Add((byte)'c'); p.AddRange(Encoding.ASCII.GetBytes($"{m}\n{n}\n")); }
        void Int(int v) { p.Add((byte)'J'); p.AddRange(BitConverter.GetBytes(v)); }
        Global("collections", "OrderedDict"); p.AddRange(")R("u8.ToArray());
        Text("w");
        Global("torch._utils", "_rebuild_tensor_v2"); p.AddRange("(("u8.ToArray());
        Text("storage"); Global("torch", "FloatStorage"); Text("0"); Text("cpu"); Int(numel);
        p.AddRange("tQ"u8.ToArray()); Int(0); p.Add((byte)'('); Int(numel); p.AddRange("t("u8.ToArray()); Int(1); p.Add((byte)'t');
        p.Add(0x89); Global("collections", "OrderedDict"); p.AddRange(")RtR"u8.ToArray());
        p.AddRange("u."u8.ToArray());
        return [.. p];
    }

    private static byte[] Zip(params (string Name, byte[] Data, CompressionLevel Level)[] entries)
    {
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (name, data, level) in entries)
            {
                using var s = zip.CreateEntry(name, level).Open();
                s.Write(data);
            }
        }
        return buffer.ToArray();
    }

    private static (string, byte[], CompressionLevel) Stored(string name, byte[] data) => (name, data, CompressionLevel.NoCompression);

    [Fact]
    public void A_hand_built_archive_reads_so_the_attacks_below_fail_for_their_own_reason()
    {
        var bytes = Zip(Stored("m/data.pkl", StateDictPickle(3)), Stored("m/data/0", new byte[12]), Stored("m/version", "3\n"u8.ToArray()));
        var file = TorchFile.Deserialize(bytes, "ok.pt");
        Assert.Equal([0f, 0f, 0f], file["w"].ToFloatArray());
        // Deflated entries are read too (PyTorch never writes them, but a re-zipped file has them).
        var deflated = Zip(("m/data.pkl", StateDictPickle(3), CompressionLevel.Optimal), ("m/data/0", BitConverter.GetBytes(1.5f).Concat(new byte[8]).ToArray(), CompressionLevel.Optimal));
        Assert.Equal([1.5f, 0f, 0f], TorchFile.Deserialize(deflated, "deflated.pt")["w"].ToFloatArray());
    }

    [Fact]
    public void Duplicate_entry_names_are_refused()
    {
        var bytes = Zip(Stored("m/data.pkl", StateDictPickle(3)), Stored("m/data/0", new byte[12]), Stored("m/data/0", new byte[12]));
        var ex = Assert.Throws<TorchFormatException>(() => TorchFile.Deserialize(bytes, "dup.pt"));
        Assert.Contains("dup.pt: m/data/0: the zip holds two entries of this name; refusing an ambiguous archive", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Archives_without_one_plain_data_pkl_are_refused()
    {
        var none = Assert.Throws<TorchFormatException>(() => TorchFile.Deserialize(Zip(Stored("readme.txt", [1])), "none.pt"));
        Assert.Contains("no <name>/data.pkl entry", none.Message, StringComparison.Ordinal);
        var two = Assert.Throws<TorchFormatException>(() => TorchFile.Deserialize(Zip(Stored("a/data.pkl", [0x2e]), Stored("b/data.pkl", [0x2e])), "two.pt"));
        Assert.Contains("2 data.pkl entries", two.Message, StringComparison.Ordinal);
        var climb = Assert.Throws<TorchFormatException>(() => TorchFile.Deserialize(Zip(Stored("../data.pkl", [0x2e])), "climb.pt"));
        Assert.Contains("top folder name is not a plain name", climb.Message, StringComparison.Ordinal);
        // Deeper paths are not torch.save's layout at all.
        Assert.Throws<TorchFormatException>(() => TorchFile.Deserialize(Zip(Stored("a/../../data.pkl", [0x2e])), "deep.pt"));
    }

    [Fact]
    public void A_torchscript_archive_is_named()
    {
        var bytes = Zip(Stored("m/data.pkl", StateDictPickle(3)), Stored("m/constants.pkl", [0x2e]), Stored("m/code/m.py", [1]));
        var ex = Assert.Throws<TorchFormatException>(() => TorchFile.Deserialize(bytes, "script.pt"));
        Assert.Contains("a TorchScript archive (torch.jit.save)", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_big_endian_file_is_refused()
    {
        var bytes = Zip(Stored("m/data.pkl", StateDictPickle(3)), Stored("m/data/0", new byte[12]), Stored("m/byteorder", "big"u8.ToArray()));
        var ex = Assert.Throws<TorchFormatException>(() => TorchFile.Deserialize(bytes, "be.pt"));
        Assert.Contains("m/byteorder: byte order 'big' is not supported", ex.Message, StringComparison.Ordinal);
        var little = Zip(Stored("m/data.pkl", StateDictPickle(3)), Stored("m/data/0", new byte[12]), Stored("m/byteorder", "little"u8.ToArray()));
        Assert.Single(TorchFile.Deserialize(little, "le.pt").Entries);
    }

    [Fact]
    public void A_zip_bomb_is_refused_from_the_declared_sizes_before_inflating()
    {
        // 64 MiB of zeros deflate to ~64 KiB (a real 1000:1 ratio). The pickle claims 2 floats: the declared size
        // disagrees, so nothing is inflated or allocated.
        var zeros = new byte[64 << 20];
        var bomb = Zip(("m/data.pkl", StateDictPickle(2), CompressionLevel.NoCompression), ("m/data/0", zeros, CompressionLevel.SmallestSize));
        Assert.True(bomb.Length < 1 << 20);
        var ex = Assert.Throws<TorchFormatException>(() => TorchFile.Deserialize(bomb, "bomb.pt"));
        Assert.Contains("m/data/0: the entry declares 67108864 bytes but the pickle says storage '0' holds 2 F32 elements (8 bytes)", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_declared_size_that_compression_cannot_reach_is_refused()
    {
        // Patch the central directory's uncompressed size of a small deflated storage to 1 GiB (and the pickle to claim
        // as much): the ratio to the compressed size is impossible for deflate, so the entry is never inflated.
        const int Numel = 1 << 28;
        var bytes = Zip(("m/data.pkl", StateDictPickle(Numel), CompressionLevel.NoCompression), ("m/data/0", new byte[4000], CompressionLevel.Optimal));
        int central = IndexOfCentralEntry(bytes, "m/data/0");
        BitConverter.GetBytes(Numel * 4).CopyTo(bytes, central + 24);
        var ex = Assert.Throws<TorchFormatException>(() => TorchFile.Deserialize(bytes, "claim.pt"));
        Assert.Contains("a ratio no zip compression reaches (a zip bomb?)", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_storage_entry_that_holds_more_or_fewer_bytes_than_declared_is_refused()
    {
        // The central directory says 12 bytes (matching the pickle) but the stored data is 16: the reader must not
        // trust the declaration and must not return the extra bytes.
        var bytes = Zip(Stored("m/data.pkl", StateDictPickle(3)), Stored("m/data/0", new byte[16]));
        int central = IndexOfCentralEntry(bytes, "m/data/0");
        BitConverter.GetBytes(12).CopyTo(bytes, central + 24);
        var ex = Assert.Throws<TorchFormatException>(() => TorchFile.Deserialize(bytes, "lie.pt"));
        Assert.Contains("lie.pt: m/data/0", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_truncated_archive_is_a_format_error()
    {
        var bytes = File.ReadAllBytes(TorchFileTests.FixturePath("convnet.pt"));
        for (int cut = 1; cut < 8; cut++)
            Assert.ThrowsAny<TorchFormatException>(() => TorchFile.Deserialize(bytes[..(bytes.Length * cut / 8)], "cut.pt"));
    }

    [Fact]
    public void A_central_directory_whose_entry_count_disagrees_is_a_format_error()
    {
        // Found by the fuzzer (target pt): ZipArchive reads the central directory lazily, on the first use of Entries,
        // and its InvalidDataException escaped from there untyped.
        string path = Path.Combine(AppContext.BaseDirectory, "Fixtures", "fuzz", "pt-central-directory-count.pt");
        var ex = Assert.Throws<TorchFormatException>(() => TorchFile.Read(path));
        Assert.Contains("not a readable zip archive", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Non_tensor_values_and_non_string_keys_are_not_a_state_dict()
    {
        // {1: 2.5}: a plain dict with an int key and a float value.
        byte[] pickle = [0x80, 2, (byte)'}', (byte)'K', 1, (byte)'G', 0x40, 0x04, 0, 0, 0, 0, 0, 0, (byte)'s', (byte)'.'];
        var ex = Assert.Throws<TorchFormatException>(() => TorchFile.Deserialize(Zip(Stored("m/data.pkl", pickle)), "scalars.pt"));
        Assert.Contains("not a state dict: int key holds a float (expected tensors under string keys)", ex.Message, StringComparison.Ordinal);
    }

    /// <summary>Offset of the central-directory header (signature PK\x01\x02) whose file name is <paramref name="name"/>.</summary>
    private static int IndexOfCentralEntry(byte[] zip, string name)
    {
        byte[] nameBytes = Encoding.ASCII.GetBytes(name);
        for (int i = zip.Length - 46; i >= 0; i--)
        {
            if (zip[i] == 0x50 && zip[i + 1] == 0x4b && zip[i + 2] == 1 && zip[i + 3] == 2
                && BitConverter.ToUInt16(zip, i + 28) == nameBytes.Length && zip.AsSpan(i + 46, nameBytes.Length).SequenceEqual(nameBytes))
                return i;
        }
        throw new InvalidOperationException($"no central entry {name}");
    }
}
