using System.Globalization;

namespace CnnSharp.Cli.Commands;

/// <summary>
/// The per-channel normalisation a model was trained with (<c>train --normalize</c> records it in the checkpoint's
/// <c>normalize_mean</c> and <c>normalize_std</c> metadata): every input must get it too, x[c] = (x[c] - mean[c]) / std[c].
/// </summary>
internal sealed record InputNormalization(float[] Mean, float[] Std)
{
    public const string MeanKey = "normalize_mean", StdKey = "normalize_std";

    /// <summary>The normalisation in <paramref name="metadata"/>, or null when it has none.</summary>
    /// <exception cref="InvalidDataException">Only one key is present, a value is not a finite number (std: positive), or the count is not <paramref name="channels"/>.</exception>
    public static InputNormalization? FromMetadata(string path, IReadOnlyDictionary<string, string> metadata, int channels)
    {
        bool hasMean = metadata.TryGetValue(MeanKey, out var mean), hasStd = metadata.TryGetValue(StdKey, out var std);
        if (!hasMean && !hasStd) return null;
        if (!hasMean || !hasStd) throw new InvalidDataException($"{path}: __metadata__ has {(hasMean ? MeanKey : StdKey)} without {(hasMean ? StdKey : MeanKey)}");
        return new InputNormalization(Parse(path, MeanKey, mean!, channels, positive: false), Parse(path, StdKey, std!, channels, positive: true));
    }

    private static float[] Parse(string path, string key, string text, int channels, bool positive)
    {
        string[] parts = text.Split(',');
        var values = new float[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            if (!float.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out values[i]) || !float.IsFinite(values[i]) || positive && values[i] <= 0)
                throw new InvalidDataException($"{path}: __metadata__ '{key}' is \"{text}\", expected {channels} comma-separated {(positive ? "positive " : "")}numbers");
        }
        return values.Length == channels ? values
            : throw new InvalidDataException($"{path}: __metadata__ '{key}' has {values.Length} values, the model takes {channels} channels");
    }

    /// <summary>A normalised copy of <paramref name="batch"/> (N, C, H, W).</summary>
    public Tensor Apply(Tensor batch)
    {
        var data = batch.ToArray();
        int channels = batch.Shape[1], plane = batch.Shape[2] * batch.Shape[3];
        for (int i = 0; i < data.Length; i++)
        {
            int c = i / plane % channels;
            data[i] = (data[i] - Mean[c]) / Std[c];
        }
        return new Tensor(data, batch.Shape);
    }
}
