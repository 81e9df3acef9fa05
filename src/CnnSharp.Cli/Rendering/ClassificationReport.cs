using System.Globalization;
using CnnSharp.Training;
using Spectre.Console;

namespace CnnSharp.Cli.Rendering;

/// <summary>The confusion matrix and per-class metrics of <c>cnnsharp evaluate</c>, as tables or as one JSON document.</summary>
internal static class ClassificationReport
{
    /// <summary>Writes the confusion matrix (rows: true class, columns: predicted) and the precision/recall/F1 table.</summary>
    public static void Render(IAnsiConsole console, ClassificationMetrics m)
    {
        var matrix = Tables.Create(console).Title("confusion matrix (rows: true class, columns: predicted)").AddColumn("true");
        for (int p = 0; p < m.NumClasses; p++) matrix.AddColumn(new TableColumn(Name(p)).RightAligned());
        for (int a = 0; a < m.NumClasses; a++)
            matrix.AddRow([Name(a), .. Enumerable.Range(0, m.NumClasses).Select(p => m[a, p].ToString(CultureInfo.InvariantCulture))]);
        console.Write(matrix);

        var perClass = Tables.Create(console).AddColumn("class").AddColumn(new TableColumn("precision").RightAligned())
            .AddColumn(new TableColumn("recall").RightAligned()).AddColumn(new TableColumn("F1").RightAligned())
            .AddColumn(new TableColumn("support").RightAligned());
        for (int c = 0; c < m.NumClasses; c++)
            perClass.AddRow(Name(c), Fixed(m.Precision(c)), Fixed(m.Recall(c)), Fixed(m.F1(c)), Tables.Count(m.Support(c)));
        perClass.AddRow("macro avg", Fixed(m.MacroPrecision), Fixed(m.MacroRecall), Fixed(m.MacroF1), Tables.Count(m.Count));
        console.Write(perClass);
    }

    /// <summary>
    /// One JSON object: checkpoint, epoch, count, correct, accuracy, loss (null when NaN), seconds, confusionMatrix (rows:
    /// true class, columns: predicted), perClass (class, precision, recall, f1, support) and macro (precision, recall, f1).
    /// </summary>
    public static void WriteJson(IAnsiConsole console, string checkpoint, int epoch, EvaluationResult result, ClassificationMetrics m, TimeSpan elapsed) =>
        Tables.WriteJson(console, json =>
        {
            json.WriteString("checkpoint", checkpoint);
            json.WriteNumber("epoch", epoch);
            json.WriteNumber("count", result.Count);
            json.WriteNumber("correct", result.Correct);
            Tables.Number(json, "accuracy", result.Accuracy);
            Tables.Number(json, "loss", result.MeanLoss);
            json.WriteNumber("seconds", elapsed.TotalSeconds);
            json.WriteStartArray("confusionMatrix");
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

    private static string Name(int c) => c.ToString(CultureInfo.InvariantCulture);

    private static string Fixed(double value) => value.ToString("F4", CultureInfo.InvariantCulture);
}
