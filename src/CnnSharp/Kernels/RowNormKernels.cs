namespace CnnSharp.Kernels;

/// <summary>
/// Normalisation over contiguous rows with an element-wise affine transform: the shared arithmetic of GroupNorm
/// (a row is one sample's group, Cg·S values) and LayerNorm (a row is one trailing block of the normalized shape).
/// </summary>
/// <remarks>
/// <para>Row r holds <c>x[r·L .. (r+1)·L)</c>. Per row, in double: <c>mean = Σx/L</c>, <c>var = Σ(x − mean)²/L</c> (biased),
/// <c>rstd = 1/√(var + eps)</c>, <c>x̂ = (x − mean)·rstd</c>; then <c>y = x̂·γ[a] + β[a]</c> with affine index
/// <c>a = (e / repeat) mod γ.Length</c> for flat element e (LayerNorm: repeat 1; GroupNorm: repeat = spatial size, so a is
/// the channel). An empty γ/β means 1/0.</para>
/// <para>Backward, with <c>u = dy·γ[a]</c>: <c>dx = rstd·(u − mean(u) − x̂·mean(u·x̂))</c> per row; <c>dγ[a] += Σ dy·x̂</c>,
/// <c>dβ[a] += Σ dy</c>.</para>
/// </remarks>
internal static class RowNormKernels
{
    /// <summary>Writes y and the per-row mean and rstd (each of length rows).</summary>
    public static void Forward(ReadOnlySpan<float> x, Span<float> y, int rowLength, float eps, ReadOnlySpan<float> weight,
        ReadOnlySpan<float> bias, int repeat, Span<double> mean, Span<double> rstd)
    {
        int rows = mean.Length;
        for (int r = 0; r < rows; r++)
        {
            var row = x.Slice(r * rowLength, rowLength);
            double sum = 0;
            foreach (float v in row) sum += v;
            double m = sum / rowLength;
            double sq = 0;
            foreach (float v in row) sq += (v - m) * (v - m);
            double rs = 1.0 / Math.Sqrt(sq / rowLength + eps);
            mean[r] = m;
            rstd[r] = rs;
            int e = r * rowLength;
            for (int j = 0; j < rowLength; j++, e++)
            {
                double v = (row[j] - m) * rs;
                if (!weight.IsEmpty)
                {
                    int a = e / repeat % weight.Length;
                    v = v * weight[a] + (bias.IsEmpty ? 0.0 : bias[a]);
                }
                else if (!bias.IsEmpty)
                {
                    v += bias[e / repeat % bias.Length];
                }
                y[e] = (float)v;
            }
        }
    }

    /// <summary>Accumulates dx, dγ and dβ (each skipped when its span is empty).</summary>
    public static void Backward(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, int rowLength, ReadOnlySpan<float> weight, int repeat,
        ReadOnlySpan<double> mean, ReadOnlySpan<double> rstd, Span<float> dx, Span<float> dWeight, Span<float> dBias)
    {
        int rows = mean.Length;
        var u = new double[rowLength];
        var xHat = new double[rowLength];
        for (int r = 0; r < rows; r++)
        {
            int start = r * rowLength;
            double m = mean[r], rs = rstd[r];
            double sumU = 0, sumUx = 0;
            for (int j = 0; j < rowLength; j++)
            {
                int e = start + j;
                int a = e / repeat;
                double xh = (x[e] - m) * rs;
                double g = dy[e];
                xHat[j] = xh;
                if (!dWeight.IsEmpty) dWeight[a % dWeight.Length] += (float)(g * xh);
                if (!dBias.IsEmpty) dBias[a % dBias.Length] += (float)g;
                double uj = weight.IsEmpty ? g : g * weight[a % weight.Length];
                u[j] = uj;
                sumU += uj;
                sumUx += uj * xh;
            }
            if (dx.IsEmpty) continue;
            double meanU = sumU / rowLength, meanUx = sumUx / rowLength;
            for (int j = 0; j < rowLength; j++) dx[start + j] += (float)(rs * (u[j] - meanU - xHat[j] * meanUx));
        }
    }
}
