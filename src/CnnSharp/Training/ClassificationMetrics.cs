namespace CnnSharp.Training;

/// <summary>
/// A confusion matrix of a K-class classifier and the per-class and macro-averaged precision, recall and F1 computed
/// from it (scikit-learn's <c>confusion_matrix</c> and <c>precision_recall_fscore_support</c> with
/// <c>zero_division=0</c>).
/// </summary>
/// <remarks>
/// <para>Row = true class, column = predicted class: <c>this[actual, predicted]</c> counts the samples of class
/// <c>actual</c> predicted as <c>predicted</c>. For class c: TP = [c, c], FP = column c minus TP, FN = row c minus TP.</para>
/// <para>Precision = TP / (TP + FP), 0 when the class was never predicted. Recall = TP / (TP + FN), 0 when the class has no
/// samples. F1 = 2PR / (P + R), 0 when P + R = 0. Macro averages are the unweighted means over all K classes, classes with
/// no samples or no predictions included (they count as 0). Accuracy = trace / count (NaN when empty).</para>
/// </remarks>
public sealed class ClassificationMetrics
{
    private readonly long[] _counts;

    /// <summary>An empty matrix for <paramref name="numClasses"/> classes.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="numClasses"/> is not in 1..65536.</exception>
    public ClassificationMetrics(int numClasses)
    {
        // K*K longs: 65536 classes would already be 32 GiB, so the bound only refuses sizes that cannot be meant.
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(numClasses);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(numClasses, 65536);
        NumClasses = numClasses;
        _counts = new long[(long)numClasses * numClasses];
    }

    /// <summary>Builds the matrix from paired predictions and true labels.</summary>
    /// <exception cref="ArgumentException">The spans differ in length, or a value is outside 0..<paramref name="numClasses"/>-1.</exception>
    public static ClassificationMetrics FromPredictions(ReadOnlySpan<int> predicted, ReadOnlySpan<int> labels, int numClasses)
    {
        if (predicted.Length != labels.Length)
            throw new ArgumentException($"ClassificationMetrics: {predicted.Length} predictions for {labels.Length} labels", nameof(predicted));
        var metrics = new ClassificationMetrics(numClasses);
        for (int i = 0; i < predicted.Length; i++) metrics.Add(predicted[i], labels[i]);
        return metrics;
    }

    /// <summary>The number of classes K.</summary>
    public int NumClasses { get; }

    /// <summary>The number of samples added.</summary>
    public long Count { get; private set; }

    /// <summary>Samples of class <paramref name="actual"/> predicted as <paramref name="predicted"/>.</summary>
    public long this[int actual, int predicted] => _counts[Index(actual, nameof(actual)) * NumClasses + Index(predicted, nameof(predicted))];

    /// <summary>Counts one sample.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A class is outside 0..K-1.</exception>
    public void Add(int predicted, int actual)
    {
        _counts[Index(actual, nameof(actual)) * NumClasses + Index(predicted, nameof(predicted))]++;
        Count++;
    }

    /// <summary>Correct predictions: the sum of the diagonal.</summary>
    public long Correct
    {
        get
        {
            long sum = 0;
            for (int c = 0; c < NumClasses; c++) sum += _counts[(long)c * NumClasses + c];
            return sum;
        }
    }

    /// <summary>Fraction of correct predictions; NaN when no sample was added.</summary>
    public double Accuracy => Count == 0 ? double.NaN : (double)Correct / Count;

    /// <summary>Samples whose true class is <paramref name="c"/> (row sum).</summary>
    public long Support(int c) => RowSum(Index(c, nameof(c)));

    /// <summary>Samples predicted as <paramref name="c"/> (column sum).</summary>
    public long Predicted(int c)
    {
        Index(c, nameof(c));
        long sum = 0;
        for (int r = 0; r < NumClasses; r++) sum += _counts[(long)r * NumClasses + c];
        return sum;
    }

    /// <summary>TP / (TP + FP) of class <paramref name="c"/>; 0 when it was never predicted.</summary>
    public double Precision(int c) => Ratio(this[c, c], Predicted(c));

    /// <summary>TP / (TP + FN) of class <paramref name="c"/>; 0 when it has no samples.</summary>
    public double Recall(int c) => Ratio(this[c, c], Support(c));

    /// <summary>Harmonic mean of <see cref="Precision"/> and <see cref="Recall"/>; 0 when both are 0.</summary>
    public double F1(int c)
    {
        double p = Precision(c), r = Recall(c);
        return p + r == 0 ? 0 : 2 * p * r / (p + r);
    }

    /// <summary>Unweighted mean of <see cref="Precision"/> over all classes.</summary>
    public double MacroPrecision => Mean(Precision);

    /// <summary>Unweighted mean of <see cref="Recall"/> over all classes.</summary>
    public double MacroRecall => Mean(Recall);

    /// <summary>Unweighted mean of <see cref="F1"/> over all classes (not the F1 of the macro precision and recall).</summary>
    public double MacroF1 => Mean(F1);

    private double Mean(Func<int, double> perClass)
    {
        double sum = 0;
        for (int c = 0; c < NumClasses; c++) sum += perClass(c);
        return sum / NumClasses;
    }

    private long RowSum(long r)
    {
        long sum = 0;
        for (int c = 0; c < NumClasses; c++) sum += _counts[r * NumClasses + c];
        return sum;
    }

    private static double Ratio(long numerator, long denominator) => denominator == 0 ? 0 : (double)numerator / denominator;

    private long Index(int c, string name) =>
        (uint)c < (uint)NumClasses ? c : throw new ArgumentOutOfRangeException(name, c, $"ClassificationMetrics: class {c} is outside 0..{NumClasses - 1}");
}
