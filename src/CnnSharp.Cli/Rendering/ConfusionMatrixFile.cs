using System.Globalization;
using System.Text.Json;

namespace CnnSharp.Cli.Rendering;

/// <summary>A confusion matrix (rows: true class, columns: predicted) and its class names.</summary>
internal sealed record ConfusionMatrix(IReadOnlyList<string> Classes, long[][] Counts)
{
    /// <summary>The largest matrix drawn: 1,000 classes is ImageNet's, and each cell is at least a pixel.</summary>
    public const int MaxClasses = 1000;

    /// <summary>
    /// Reads the <c>--json</c> output of <c>cnnsharp evaluate</c>: <c>confusion_matrix</c>, a square array of arrays of
    /// counts (whole numbers >= 0), and <c>classes</c>, its class names (optional; default the indices).
    /// </summary>
    /// <exception cref="InvalidDataException">The file is not JSON, or those properties are missing or malformed; the message names the file (and line for JSON errors).</exception>
    public static ConfusionMatrix Read(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists) throw new FileNotFoundException($"{path}: no such file", path);
        if (info.Length > MetricsLogReader.MaxBytes) throw new InvalidDataException($"{path}: {info.Length:N0} bytes is too large for an evaluation report");
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(File.ReadAllBytes(path));
        }
        catch (JsonException e)
        {
            string line = e.LineNumber is long l ? (l + 1).ToString(CultureInfo.InvariantCulture) : "?";
            throw new InvalidDataException($"{path}:{line}: not valid JSON: {e.Message}", e);
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("confusion_matrix", out var matrix))
                throw new InvalidDataException($"{path}: expected a JSON object with \"confusion_matrix\" (the output of 'cnnsharp evaluate --json')");
            if (matrix.ValueKind != JsonValueKind.Array || matrix.GetArrayLength() is 0 or > MaxClasses)
                throw new InvalidDataException($"{path}: \"confusion_matrix\" must be an array of 1 to {MaxClasses} rows");
            int n = matrix.GetArrayLength();
            var counts = new long[n][];
            int r = 0;
            foreach (var row in matrix.EnumerateArray())
            {
                if (row.ValueKind != JsonValueKind.Array || row.GetArrayLength() != n)
                    throw new InvalidDataException($"{path}: \"confusion_matrix\" row {r} must be an array of {n} counts (the matrix is square)");
                counts[r] = new long[n];
                int c = 0;
                foreach (var cell in row.EnumerateArray())
                {
                    if (cell.ValueKind != JsonValueKind.Number || !cell.TryGetInt64(out long v) || v < 0)
                        throw new InvalidDataException($"{path}: \"confusion_matrix\"[{r}][{c}] must be a whole number >= 0, got {cell.GetRawText()}");
                    counts[r][c++] = v;
                }
                r++;
            }
            IReadOnlyList<string> classes = [.. Enumerable.Range(0, n).Select(i => i.ToString(CultureInfo.InvariantCulture))];
            if (root.TryGetProperty("classes", out var names) && names.ValueKind != JsonValueKind.Null)
            {
                if (names.ValueKind != JsonValueKind.Array || names.GetArrayLength() != n || names.EnumerateArray().Any(e => e.ValueKind != JsonValueKind.String))
                    throw new InvalidDataException($"{path}: \"classes\" must be an array of {n} strings, one per row of the matrix");
                classes = [.. names.EnumerateArray().Select(e => e.GetString()!)];
            }
            return new ConfusionMatrix(classes, counts);
        }
    }
}
