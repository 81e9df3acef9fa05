using System.Diagnostics;
using System.Globalization;

namespace CnnSharp.Benchmarks;

/// <summary>Figures the end-to-end modes report: medians and the process's peak resident set.</summary>
internal static class ProcessStats
{
    public static double Median(IEnumerable<double> values)
    {
        var v = values.Order().ToArray();
        return v.Length % 2 == 1 ? v[v.Length / 2] : (v[v.Length / 2 - 1] + v[v.Length / 2]) / 2;
    }

    /// <summary>Peak resident set size in MiB: VmHWM from /proc/self/status (Linux), else the peak working set.</summary>
    public static double PeakRssMib()
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                    return double.Parse(line[6..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024.0;
        }
        catch (IOException)
        {
        }
        return Process.GetCurrentProcess().PeakWorkingSet64 / (1024.0 * 1024.0);
    }
}
