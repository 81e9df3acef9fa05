using CnnSharp.Training;

namespace CnnSharp.Tests.Training;

public sealed class ClassificationMetricsTests
{
    // Three classes; class 2 has two samples and is never predicted.
    //   labels:    0 0 0 1 1 2 2
    //   predicted: 0 0 1 1 0 1 0
    private static ClassificationMetrics Example() => ClassificationMetrics.FromPredictions([0, 0, 1, 1, 0, 1, 0], [0, 0, 0, 1, 1, 2, 2], 3);

    [Fact]
    public void Confusion_matrix_has_true_classes_in_rows_and_predictions_in_columns()
    {
        var m = Example();
        long[,] expected = { { 2, 1, 0 }, { 1, 1, 0 }, { 1, 1, 0 } };
        for (int a = 0; a < 3; a++)
            for (int p = 0; p < 3; p++)
                Assert.Equal(expected[a, p], m[a, p]);
        Assert.Equal((7L, 3L), (m.Count, m.Correct));
        Assert.Equal(3.0 / 7, m.Accuracy, 12);
        Assert.Equal([3L, 2, 2], Enumerable.Range(0, 3).Select(m.Support));
        Assert.Equal([4L, 3, 0], Enumerable.Range(0, 3).Select(m.Predicted));
    }

    [Fact]
    public void Per_class_and_macro_values_match_hand_computation()
    {
        var m = Example();
        // class 0: TP 2, FP 2, FN 1 -> P 1/2, R 2/3, F1 4/7.  class 1: TP 1, FP 2, FN 1 -> P 1/3, R 1/2, F1 2/5.
        // class 2: never predicted -> P 0 (not NaN), R 0, F1 0.
        Assert.Equal([0.5, 1.0 / 3, 0], Enumerable.Range(0, 3).Select(m.Precision), new ToleranceComparer());
        Assert.Equal([2.0 / 3, 0.5, 0], Enumerable.Range(0, 3).Select(m.Recall), new ToleranceComparer());
        Assert.Equal([4.0 / 7, 0.4, 0], Enumerable.Range(0, 3).Select(m.F1), new ToleranceComparer());
        Assert.Equal((0.5 + 1.0 / 3) / 3, m.MacroPrecision, 12);
        Assert.Equal((2.0 / 3 + 0.5) / 3, m.MacroRecall, 12);
        Assert.Equal((4.0 / 7 + 0.4) / 3, m.MacroF1, 12);
    }

    [Fact]
    public void A_class_with_no_samples_has_zero_recall_and_a_perfect_classifier_scores_one()
    {
        var m = ClassificationMetrics.FromPredictions([0, 1, 1], [0, 1, 1], 3);
        Assert.Equal((1.0, 1.0, 1.0), (m.Precision(1), m.Recall(1), m.F1(1)));
        Assert.Equal((0.0, 0.0, 0.0), (m.Precision(2), m.Recall(2), m.F1(2)));
        Assert.Equal(2.0 / 3, m.MacroF1, 12);
        Assert.True(double.IsNaN(new ClassificationMetrics(2).Accuracy));
    }

    [Fact]
    public void Bad_input_is_refused_by_name()
    {
        Assert.Throws<ArgumentException>(() => ClassificationMetrics.FromPredictions([0, 1], [0], 2));
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => ClassificationMetrics.FromPredictions([0, 2], [0, 1], 2));
        Assert.Contains("class 2", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => new ClassificationMetrics(0).Add(0, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ClassificationMetrics(2).Add(0, -1));
    }

    private sealed class ToleranceComparer : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) < 1e-12;
        public int GetHashCode(double obj) => 0;
    }
}
