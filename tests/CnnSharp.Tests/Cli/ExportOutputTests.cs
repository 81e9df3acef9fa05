using System.Diagnostics;
using CnnSharp.Cli.Commands;
using CnnSharp.IO;
using CnnSharp.Models;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Cli;

/// <summary><c>cnnsharp export</c> never writes over the checkpoint it reads (it once replaced it with ONNX bytes).</summary>
public sealed class ExportOutputTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static (int ExitCode, string Output) Invoke(params string[] args) => CliRunner.Invoke(1000, args);

    private string SavedCheckpoint()
    {
        string path = _dir.File("a.safetensors");
        Checkpoint.Save(path, new ConvNet(generator: new Generator(5)), optimizer: null, epoch: 1);
        return path;
    }

    private void AssertRefused(string checkpoint, string output, byte[] before)
    {
        var (code, text) = Invoke("export", "--checkpoint", checkpoint, "--output", output);
        Assert.True(code == 1, text);
        Assert.Contains("is the file --checkpoint reads", text, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(checkpoint));
        Assert.Empty(Directory.GetFiles(_dir.Path, "*.tmp"));
    }

    // Found by hostile use: export -o nonexist/m.onnx loaded and traced the model, then failed writing with .NET's
    // "Could not find a part of the path 'nonexist/m.onnx'." (no option, no missing folder named).
    [Fact]
    public void Export_into_a_missing_directory_or_under_a_file_names_the_option_and_the_directory()
    {
        string checkpoint = SavedCheckpoint();
        var (code, text) = Invoke("export", "--checkpoint", checkpoint, "--output", _dir.File("missing/m.onnx"));
        Assert.True(code == 1, text);
        Assert.Contains($"--output {_dir.File("missing/m.onnx")}: the directory {_dir.File("missing")} does not exist", text, StringComparison.Ordinal);
        (code, text) = Invoke("export", "--checkpoint", checkpoint, "--output", Path.Combine(checkpoint, "m.onnx"));
        Assert.True(code == 1, text);
        Assert.Contains($"{checkpoint} is a file, not a directory", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Export_refuses_to_write_over_its_checkpoint_and_leaves_it_intact()
    {
        string checkpoint = SavedCheckpoint();
        byte[] before = File.ReadAllBytes(checkpoint);
        AssertRefused(checkpoint, checkpoint, before);
        Assert.Equal(1, Checkpoint.Load(checkpoint, new ConvNet()).Epoch);
    }

    [Fact]
    public void Export_refuses_the_checkpoint_under_another_spelling_or_through_a_symbolic_link()
    {
        string checkpoint = SavedCheckpoint();
        byte[] before = File.ReadAllBytes(checkpoint);
        Directory.CreateDirectory(_dir.File("sub"));
        AssertRefused(checkpoint, Path.Combine(_dir.Path, "sub", "..", ".", "a.safetensors"), before);
        AssertRefused(Path.GetRelativePath(Environment.CurrentDirectory, checkpoint), checkpoint, before);

        string fileLink = _dir.File("link.onnx");
        File.CreateSymbolicLink(fileLink, "a.safetensors"); // relative target
        AssertRefused(checkpoint, fileLink, before);
        string directoryLink = _dir.File("dirlink");
        Directory.CreateSymbolicLink(directoryLink, _dir.Path);
        AssertRefused(Path.Combine(directoryLink, "a.safetensors"), Path.Combine(directoryLink, "dirlink", "link.onnx"), before);
    }

    [Fact]
    public void Resolve_follows_links_the_way_the_kernel_does_and_stops_on_a_loop()
    {
        Directory.CreateDirectory(_dir.File("real/deep"));
        Directory.CreateSymbolicLink(_dir.File("up"), _dir.File("real/deep"));
        // up/.. is real (the link's target's parent), not the temp directory itself.
        Assert.Equal(_dir.File("real/x"), OutputPath.Resolve(_dir.File("up/../x")));
        File.CreateSymbolicLink(_dir.File("loop1"), "loop2");
        File.CreateSymbolicLink(_dir.File("loop2"), "loop1");
        Assert.Throws<IOException>(() => OutputPath.Resolve(_dir.File("loop1")));
    }

    [Fact]
    public void Export_to_another_file_or_to_a_second_hard_link_leaves_the_checkpoint_intact()
    {
        string checkpoint = SavedCheckpoint();
        byte[] before = File.ReadAllBytes(checkpoint);
        var (code, output) = Invoke("export", "-c", checkpoint, "-o", _dir.File("A.onnx"));
        Assert.True(code == 0, output);
        if (!OperatingSystem.IsLinux()) return;

        // A hard link is not detected; the atomic write renames a new file over the link's name and leaves the checkpoint's data alone.
        string hardLink = _dir.File("hard.onnx");
        using (var ln = Process.Start("ln", [checkpoint, hardLink])) ln.WaitForExit();
        Assert.True(File.Exists(hardLink));
        (code, output) = Invoke("export", "-c", checkpoint, "-o", hardLink);
        Assert.True(code == 0, output);
        Assert.Equal(before, File.ReadAllBytes(checkpoint));
        Assert.NotEqual(before, File.ReadAllBytes(hardLink));
    }

    [Fact]
    public void Export_to_a_directory_is_refused_before_reading_anything()
    {
        string checkpoint = SavedCheckpoint();
        var (code, output) = Invoke("export", "-c", checkpoint, "-o", _dir.Path);
        Assert.Equal(1, code);
        Assert.Contains($"--output {_dir.Path} is a directory", output, StringComparison.Ordinal);
    }
}
