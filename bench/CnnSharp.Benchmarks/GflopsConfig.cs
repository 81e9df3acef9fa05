using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using CnnSharp.Benchmarks.Kernels;

namespace CnnSharp.Benchmarks;

/// <summary>Short runs (the machine is shared), memory diagnoser, and a GFLOP/s column.</summary>
public sealed class GflopsConfig : ManualConfig
{
    /// <summary>Builds the config.</summary>
    public GflopsConfig()
    {
        AddJob(Job.ShortRun.WithWarmupCount(3).WithIterationCount(5));
        AddDiagnoser(MemoryDiagnoser.Default);
        AddColumn(new GflopsColumn());
    }

    private sealed class GflopsColumn : IColumn
    {
        private static readonly Lazy<ConvWorkload[]> s_workloads = new(() => ConvWorkload.All(100, 1));

        public string Id => "GFLOPs";
        public string ColumnName => "GFLOP/s";
        public bool AlwaysShow => true;
        public ColumnCategory Category => ColumnCategory.Custom;
        public int PriorityInCategory => 0;
        public bool IsNumeric => true;
        public UnitType UnitType => UnitType.Dimensionless;
        public string Legend => "Floating-point operations per second (2 per multiply-add) at the mean time";
        public bool IsAvailable(Summary summary) => true;
        public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
        public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
        {
            var report = summary[benchmarkCase];
            if (report?.ResultStatistics is not { } stats) return "-";
            double seconds = stats.Mean * 1e-9;
            double flops = Flops(benchmarkCase);
            return flops <= 0 ? "-" : (flops / seconds / 1e9).ToString("F1", System.Globalization.CultureInfo.InvariantCulture);
        }

        private static double Flops(BenchmarkCase c)
        {
            object? Param(string name) => c.Parameters.Items.FirstOrDefault(p => p.Name == name)?.Value;
            int threads = Param("Threads") is int t ? t : 1;
            return c.Descriptor.Type.Name switch
            {
                nameof(ConvBenchmarks) => s_workloads.Value.First(w => w.Name == (string)Param("Pass")!).Flops,
                nameof(FmaPeakBenchmarks) => FmaPeakBenchmarks.FlopsPerThread * threads,
                nameof(GemmBenchmarks) => (string)Param("Shape")! == "1024" ? 2.0 * 1024 * 1024 * 1024 : 2.0 * 19_600 * 32 * 400,
                _ => 0,
            };
        }
    }
}
