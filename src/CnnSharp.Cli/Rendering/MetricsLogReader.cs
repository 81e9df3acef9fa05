using System.Text;
using System.Text.Json;

namespace CnnSharp.Cli.Rendering;

/// <summary>One epoch of a metrics log; a null value was not measured that epoch.</summary>
internal sealed record EpochMetrics(int Epoch, double? TrainLoss, double? TrainAccuracy, double? ValLoss, double? ValAccuracy, double? TestLoss, double? TestAccuracy);

/// <summary>
/// Reads (for plot) the metrics log that CnnSharp.Training.MetricsLog writes for <c>cnnsharp train --metrics-log</c>: JSON Lines, one object per epoch, e.g.
/// <c>{"epoch":1,"epochs":10,"lr":0.001,"train_loss":0.31,"train_accuracy":0.91,"val_loss":null,...}</c>.
/// </summary>
/// <remarks>
/// <c>epoch</c> (a whole number >= 1) is required; <c>train_loss</c>, <c>train_accuracy</c>, <c>val_loss</c>,
/// <c>val_accuracy</c>, <c>test_loss</c>, <c>test_accuracy</c> are optional numbers or null; other properties are
/// ignored. Blank lines are skipped. Any other content is an <see cref="InvalidDataException"/> naming the file and line.
/// </remarks>
internal static class MetricsLogReader
{
    /// <summary>The largest log read: a line per epoch is a few hundred bytes, so this is far more than any run writes.</summary>
    public const long MaxBytes = 64L << 20;

    /// <summary>The metric properties, in the order of <see cref="EpochMetrics"/>.</summary>
    public static IReadOnlyList<string> Metrics { get; } = ["train_loss", "train_accuracy", "val_loss", "val_accuracy", "test_loss", "test_accuracy"];

    /// <exception cref="InvalidDataException">A line is not a JSON object, lacks a valid epoch, has a metric that is not a number or null, or the file holds no epoch or is too large.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static IReadOnlyList<EpochMetrics> Read(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists) throw new FileNotFoundException($"{path}: no such file", path);
        if (info.Length > MaxBytes) throw new InvalidDataException($"{path}: {info.Length:N0} bytes; a metrics log is at most {MaxBytes:N0}");
        return Parse(File.ReadAllText(path, Encoding.UTF8), path);
    }

    /// <summary>Parses the text of a log; <paramref name="path"/> names it in errors.</summary>
    public static IReadOnlyList<EpochMetrics> Parse(string text, string path)
    {
        var epochs = new List<EpochMetrics>();
        string[] lines = text.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i].TrimEnd('\r');
            if (line.Trim().Length == 0) continue;
            epochs.Add(ParseLine(line, path, i + 1));
        }
        if (epochs.Count == 0) throw new InvalidDataException($"{path}: no epochs (expected one JSON object per line, as written by 'cnnsharp train --metrics-log')");
        return epochs;
    }

    private static EpochMetrics ParseLine(string line, string path, int number)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(line);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}:{number}: not valid JSON: {e.Message}", e);
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException($"{path}:{number}: expected a JSON object per epoch, got {root.ValueKind}");
            if (!root.TryGetProperty("epoch", out var epoch) || epoch.ValueKind != JsonValueKind.Number || !epoch.TryGetInt32(out int e) || e < 1)
                throw new InvalidDataException($"{path}:{number}: \"epoch\" must be a whole number >= 1");
            var values = new double?[Metrics.Count];
            for (int m = 0; m < Metrics.Count; m++)
            {
                if (!root.TryGetProperty(Metrics[m], out var value) || value.ValueKind == JsonValueKind.Null) continue;
                if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out double v) || !double.IsFinite(v))
                    throw new InvalidDataException($"{path}:{number}: \"{Metrics[m]}\" must be a number or null, got {value.GetRawText()}");
                values[m] = v;
            }
            return new EpochMetrics(e, values[0], values[1], values[2], values[3], values[4], values[5]);
        }
    }
}
