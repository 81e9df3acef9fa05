using System.Collections.ObjectModel;
using CnnSharp.Onnx.Protos;

namespace CnnSharp.Onnx;

/// <summary>An operator-set import of a model: the domain (empty for standard ONNX operators) and its version.</summary>
/// <param name="Domain">The operator domain; empty or <c>ai.onnx</c> for the standard operators.</param>
/// <param name="Version">The operator-set version.</param>
public readonly record struct OnnxOpsetImport(string Domain, long Version);

/// <summary>
/// A loaded and validated ONNX model (<c>ModelProto</c>): metadata, operator sets and the main <see cref="OnnxGraph"/>.
/// Loading parses with Google.Protobuf (C# generated from the official <c>onnx.proto</c>) and checks the structure;
/// it does not run anything.
/// </summary>
public sealed class OnnxModel
{
    private OnnxModel(string source, ModelProto proto, IReadOnlyList<OnnxOpsetImport> opsets, int opset, OnnxGraph graph)
    {
        Source = source;
        IrVersion = proto.IrVersion;
        ProducerName = proto.ProducerName;
        ProducerVersion = proto.ProducerVersion;
        Domain = proto.Domain;
        ModelVersion = proto.ModelVersion;
        DocString = proto.DocString;
        OpsetImports = opsets;
        Opset = opset;
        Graph = graph;
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in proto.MetadataProps) metadata[entry.Key] = entry.Value;
        MetadataProps = new ReadOnlyDictionary<string, string>(metadata);
    }

    /// <summary>The path or source name the model was read from.</summary>
    public string Source { get; }

    /// <summary>The ONNX IR version the file declares.</summary>
    public long IrVersion { get; }

    /// <summary>The producing tool, e.g. <c>pytorch</c>.</summary>
    public string ProducerName { get; }

    /// <summary>The producing tool's version.</summary>
    public string ProducerVersion { get; }

    /// <summary>The model's domain (reverse-DNS name), often empty.</summary>
    public string Domain { get; }

    /// <summary>The model's own version number.</summary>
    public long ModelVersion { get; }

    /// <summary>The model's documentation string.</summary>
    public string DocString { get; }

    /// <summary>All operator-set imports.</summary>
    public IReadOnlyList<OnnxOpsetImport> OpsetImports { get; }

    /// <summary>The version of the standard ONNX operator set (domain <c>""</c> / <c>ai.onnx</c>) the model uses.</summary>
    public int Opset { get; }

    /// <summary>The main graph.</summary>
    public OnnxGraph Graph { get; }

    /// <summary>The model's <c>metadata_props</c> key-value strings.</summary>
    public IReadOnlyDictionary<string, string> MetadataProps { get; }

    /// <summary>Loads and validates an <c>.onnx</c> file.</summary>
    /// <param name="path">The model file; named in every error message.</param>
    /// <exception cref="OnnxFormatException">The file is not a valid ModelProto or its graph is malformed (see <see cref="OnnxGraph"/>).</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static OnnxModel Load(string path) => Parse(OnnxProtobuf.ReadFile(path), path);

    /// <summary>Parses and validates a serialized ModelProto.</summary>
    /// <param name="bytes">The serialized model.</param>
    /// <param name="sourceName">Name used in error messages.</param>
    /// <exception cref="OnnxFormatException">The bytes are not a valid ModelProto or its graph is malformed.</exception>
    public static OnnxModel Parse(byte[] bytes, string sourceName = "<memory>")
    {
        ArgumentNullException.ThrowIfNull(bytes);
        ArgumentNullException.ThrowIfNull(sourceName);
        var proto = OnnxProtobuf.Parse(ModelProto.Parser, bytes, sourceName, "ModelProto");
        if (proto.Graph is null)
            throw new OnnxFormatException(sourceName, $"not an ONNX model: the ModelProto ({bytes.Length} bytes) has no graph", null);

        var opsets = proto.OpsetImport.Select(o => new OnnxOpsetImport(o.Domain, o.Version)).ToArray();
        var standard = opsets.Where(o => o.Domain is "" or "ai.onnx").ToArray();
        if (standard.Length == 0)
            throw new OnnxFormatException(sourceName, $"the model declares no opset for the standard ONNX domain (imports: [{string.Join(", ", opsets.Select(o => $"'{o.Domain}' v{o.Version}"))}])", null);
        if (standard.Length > 1)
            throw new OnnxFormatException(sourceName, $"the model imports the standard ONNX domain {standard.Length} times (versions {string.Join(", ", standard.Select(o => o.Version))})", null);
        if (standard[0].Version is < 1 or > int.MaxValue)
            throw new OnnxFormatException(sourceName, $"the standard ONNX opset version {standard[0].Version} is invalid", null);

        var graph = OnnxGraph.Decode(proto.Graph, sourceName, new HashSet<string>(StringComparer.Ordinal), 0);
        return new OnnxModel(sourceName, proto, opsets, (int)standard[0].Version, graph);
    }

    /// <inheritdoc />
    public override string ToString() =>
        $"{Source}: opset {Opset}, {Graph.Nodes.Count} nodes, {Graph.Initializers.Count} initializers, inputs ({string.Join(", ", Graph.RuntimeInputs.Select(i => i.Name))})";
}
