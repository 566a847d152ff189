using System.CommandLine;
using JetSharp.Benchmarks;

namespace JetSharp.Cli.Commands;

/// <summary>`jetsharp bench epilogue`: the collapsed Laplacian with the Taylor rules in the GEMMs' epilogues vs fused trees only, A/B in one process.</summary>
public static class EpilogueBenchCommand
{
    public static Command Create(Option<bool> quick)
    {
        var repeats = Options.Int("--repeats", "Timed runs of each variant per point, alternated; the median is kept.", 15);
        var profile = Options.Flag("--profile", "Also print the slowest scheduled steps of each variant.");
        var threads = Options.Int("--gemm-threads", "GEMM threads (0: all cores). With 1, the CPU-time columns measure work without the workers' polling.", 0);
        var command = new Command("epilogue", "Collapsed Laplacian (D = 50, the reference tanh MLP) with the tangents' Taylor rules in the GEMMs' epilogues vs fused trees only, float64 and float32, N = 32 and 128, alternated runs, medians, the FMA-peak share.")
        {
            repeats, profile, threads,
        };
        command.SetAction(p =>
        {
            bool q = p.GetValue(quick);
            int reps = q ? 3 : p.GetValue(repeats);
            int[] batches = q ? [8, 32] : [32, 128];
            if (p.GetValue(threads) > 0) JetSharp.Backend.ManagedGemm.MaxThreads = p.GetValue(threads);
            Console.WriteLine($"GEMM threads: {JetSharp.Backend.ManagedGemm.MaxThreads}");
            Console.WriteLine($"load average before: {Timing.LoadAverage(3)}");
            var points = EpilogueBenchmark.Run([DType.Float64, DType.Float32], batches, reps, p.GetValue(profile) ? Console.Write : null).ToList();
            Console.WriteLine("| dtype | N | epilogues (ms) | trees only (ms) | ratio | CPU ms: epilogues | trees only | ratio | epilogue products (nodes) | max rel. diff | load avg |");
            Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|---|");
            foreach (var pt in points)
                Console.WriteLine($"| {pt.DType.Name()} | {pt.Batch} | {pt.EpilogueSeconds * 1e3:0.00} | {pt.TreesSeconds * 1e3:0.00} | {pt.EpilogueSeconds / pt.TreesSeconds:0.000} | " +
                    $"{pt.EpilogueCpuSeconds * 1e3:0.00} | {pt.TreesCpuSeconds * 1e3:0.00} | {pt.EpilogueCpuSeconds / pt.TreesCpuSeconds:0.000} | {pt.Epilogues.Products} ({pt.Epilogues.Nodes}) | {pt.MaxRelativeDifference:0.0e+00} | {pt.Load} |");
            foreach (var dtype in points.Select(pt => pt.DType).Distinct())
            {
                var (lo, hi) = (points.First(pt => pt.DType == dtype), points.Last(pt => pt.DType == dtype));
                if (lo.Batch == hi.Batch) continue;
                double se = (hi.EpilogueSeconds - lo.EpilogueSeconds) / (hi.Batch - lo.Batch), st = (hi.TreesSeconds - lo.TreesSeconds) / (hi.Batch - lo.Batch);
                double peak = GemmBenchmark.MeasureFmaPeak(dtype, Environment.ProcessorCount);
                double flops = (hi.MatMulFlops - lo.MatMulFlops) / (hi.Batch - lo.Batch);
                Console.WriteLine($"{dtype.Name()}: per datum (slope N = {lo.Batch}…{hi.Batch}) epilogues {se * 1e3:0.000} ms, trees only {st * 1e3:0.000} ms ({se / st:0.000}); " +
                    $"matmul GFLOP/s at N = {hi.Batch}: {hi.MatMulFlops / hi.EpilogueSeconds / 1e9:0.0} vs {hi.MatMulFlops / hi.TreesSeconds / 1e9:0.0}, per-datum slope {flops / se / 1e9:0.0} vs {flops / st / 1e9:0.0}; " +
                    $"FMA peak now {peak:0.0} GFLOP/s (load {Timing.LoadAverage(3)})");
            }
            return 0;
        });
        return command;
    }
}
