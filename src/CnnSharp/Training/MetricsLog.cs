using System.Buffers;
using System.Text;
using System.Text.Json;
using CnnSharp.IO;

namespace CnnSharp.Training;

/// <summary>
/// The metrics log: JSON Lines, one object per epoch, in this key order:
/// <c>{"epoch":1,"epochs":10,"lr":0.001,"train_loss":0.31,"train_accuracy":0.91,"val_loss":0.29,"val_accuracy":0.92,"test_loss":0.3,"test_accuracy":0.915,"seconds":41.2,"eval_seconds":2.1}</c>.
/// </summary>
/// <remarks>
/// <para><c>epoch</c> counts from 1 and <c>epochs</c> is the run's total; <c>lr</c> is the learning rate the epoch started
/// with; losses are mean cross-entropies per image; accuracies are fractions in [0, 1]; <c>seconds</c> is the epoch's
/// training time and <c>eval_seconds</c> the time of its validation and test evaluation. A value not measured (no
/// validation or test set) or not finite is <c>null</c>. Numbers are written in their shortest round-trip form.</para>
/// <para>The same objects are what <c>cnnsharp train --json</c> prints and what <c>cnnsharp plot</c> reads.</para>
/// </remarks>
public static class MetricsLog
{
    /// <summary>The keys of every line, in order.</summary>
    public static IReadOnlyList<string> Keys { get; } =
        ["epoch", "epochs", "lr", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "test_loss", "test_accuracy", "seconds", "eval_seconds"];

    /// <summary>One line (without the newline) for <paramref name="report"/>.</summary>
    public static string Format(EpochReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteNumber("epoch", report.Epoch);
            json.WriteNumber("epochs", report.Epochs);
            Number(json, "lr", report.Lr);
            Number(json, "train_loss", report.TrainLoss);
            Number(json, "train_accuracy", report.TrainAccuracy);
            Number(json, "val_loss", report.ValidationLoss);
            Number(json, "val_accuracy", report.ValidationAccuracy);
            Number(json, "test_loss", report.TestLoss);
            Number(json, "test_accuracy", report.TestAccuracy);
            Number(json, "seconds", report.TrainTime.TotalSeconds);
            Number(json, "eval_seconds", report.EvaluationTime.TotalSeconds);
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static void Number(Utf8JsonWriter json, string key, double value)
    {
        if (double.IsFinite(value)) json.WriteNumber(key, value);
        else json.WriteNull(key);
    }

    /// <summary>
    /// Opens <paramref name="path"/> for a run starting at <paramref name="startEpoch"/>: a run from epoch 1 starts a new
    /// file; a resumed run keeps the existing lines of earlier epochs (dropping those of epochs it will run again, e.g.
    /// after a best-only checkpoint) and appends after them.
    /// </summary>
    internal static StreamWriter Open(string path, int startEpoch)
    {
        var kept = new List<string>();
        if (startEpoch > 1 && File.Exists(path))
        {
            foreach (var line in File.ReadLines(path))
            {
                if (EpochOf(line) is int e && e < startEpoch) kept.Add(line);
            }
        }
        // The kept lines are rewritten atomically (temp file + rename): a run killed here leaves the old log, never a
        // truncated one; the new epochs are then appended line by line.
        var encoding = new UTF8Encoding(false);
        AtomicFile.Write(path, stream =>
        {
            using var rewrite = new StreamWriter(stream, encoding, leaveOpen: true) { NewLine = "\n" };
            foreach (var line in kept) rewrite.WriteLine(line);
        });
        return new StreamWriter(path, append: true, encoding) { NewLine = "\n" };
    }

    private static int? EpochOf(string line)
    {
        try
        {
            using var doc = JsonDocument.Parse(line);
            return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("epoch", out var e) && e.TryGetInt32(out int epoch)
                ? epoch : null;
        }
        catch (JsonException)
        {
            return null; // a line cut short by a killed run
        }
    }
}
