using System.Globalization;
using CnnSharp.Training;
using Spectre.Console;

namespace CnnSharp.Cli.Rendering;

/// <summary>What one <c>cnnsharp evaluate</c> run measured, for <see cref="ClassificationReport.WriteJson"/>.</summary>
internal sealed record EvaluationReport(string Checkpoint, string? Model, int? Epoch, string Dataset, IReadOnlyList<string> Classes,
    EvaluationResult Result, ClassificationMetrics Metrics, TimeSpan Elapsed);

/// <summary>The confusion matrix and per-class metrics of <c>cnnsharp evaluate</c>, as tables or as one JSON document.</summary>
internal static class ClassificationReport
{
    /// <summary>
    /// Writes the confusion matrix (rows: true class, columns: predicted; headed by class index, so it stays narrow) and
    /// the precision/recall/F1 table, both naming the classes by <paramref name="classes"/>.
    /// </summary>
    public static void Render(IAnsiConsole console, ClassificationMetrics m, IReadOnlyList<string> classes)
    {
        var matrix = Tables.Create(console).Title("confusion matrix (rows: true class, columns: predicted)").AddColumn("true");
        for (int p = 0; p < m.NumClasses; p++) matrix.AddColumn(new TableColumn(Index(p)).RightAligned());
        for (int a = 0; a < m.NumClasses; a++)
            matrix.AddRow([Markup.Escape(Label(a, classes)), .. Enumerable.Range(0, m.NumClasses).Select(p => m[a, p].ToString(CultureInfo.InvariantCulture))]);
        console.Write(matrix);

        var perClass = Tables.Create(console).AddColumn("class").AddColumn(new TableColumn("precision").RightAligned())
            .AddColumn(new TableColumn("recall").RightAligned()).AddColumn(new TableColumn("F1").RightAligned())
            .AddColumn(new TableColumn("support").RightAligned());
        for (int c = 0; c < m.NumClasses; c++)
            perClass.AddRow(Markup.Escape(Label(c, classes)), Fixed(m.Precision(c)), Fixed(m.Recall(c)), Fixed(m.F1(c)), Tables.Count(m.Support(c)));
        perClass.AddRow("macro avg", Fixed(m.MacroPrecision), Fixed(m.MacroRecall), Fixed(m.MacroF1), Tables.Count(m.Count));
        console.Write(perClass);
    }

    /// <summary>
    /// One JSON object: checkpoint, model (zoo name; null for an ONNX model), epoch (null for a state dict or ONNX model), dataset, count, correct, accuracy,
    /// loss (null when NaN), seconds, classes (names in label order), confusion_matrix (rows: true class, columns:
    /// predicted), perClass (class, name, precision, recall, f1, support) and macro (precision, recall, f1).
    /// </summary>
    public static void WriteJson(IAnsiConsole console, EvaluationReport r) =>
        Tables.WriteJson(console, json =>
        {
            var m = r.Metrics;
            json.WriteString("checkpoint", r.Checkpoint);
            if (r.Model is null) json.WriteNull("model");
            else json.WriteString("model", r.Model);
            if (r.Epoch is int epoch) json.WriteNumber("epoch", epoch);
            else json.WriteNull("epoch");
            json.WriteString("dataset", r.Dataset);
            json.WriteNumber("count", r.Result.Count);
            json.WriteNumber("correct", r.Result.Correct);
            Tables.Number(json, "accuracy", r.Result.Accuracy);
            Tables.Number(json, "loss", r.Result.MeanLoss);
            json.WriteNumber("seconds", r.Elapsed.TotalSeconds);
            json.WriteStartArray("classes");
            foreach (string name in r.Classes) json.WriteStringValue(name);
            json.WriteEndArray();
            json.WriteStartArray("confusion_matrix");
            for (int a = 0; a < m.NumClasses; a++)
            {
                json.WriteStartArray();
                for (int p = 0; p < m.NumClasses; p++) json.WriteNumberValue(m[a, p]);
                json.WriteEndArray();
            }
            json.WriteEndArray();
            json.WriteStartArray("perClass");
            for (int c = 0; c < m.NumClasses; c++)
            {
                json.WriteStartObject();
                json.WriteNumber("class", c);
                json.WriteString("name", r.Classes[c]);
                json.WriteNumber("precision", m.Precision(c));
                json.WriteNumber("recall", m.Recall(c));
                json.WriteNumber("f1", m.F1(c));
                json.WriteNumber("support", m.Support(c));
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteStartObject("macro");
            json.WriteNumber("precision", m.MacroPrecision);
            json.WriteNumber("recall", m.MacroRecall);
            json.WriteNumber("f1", m.MacroF1);
            json.WriteEndObject();
        });

    private static string Index(int c) => c.ToString(CultureInfo.InvariantCulture);

    /// <summary>"3" for a class named by its index, "3 Dress" otherwise.</summary>
    private static string Label(int c, IReadOnlyList<string> classes) => classes[c] == Index(c) ? Index(c) : $"{Index(c)} {classes[c]}";

    private static string Fixed(double value) => value.ToString("F4", CultureInfo.InvariantCulture);
}
