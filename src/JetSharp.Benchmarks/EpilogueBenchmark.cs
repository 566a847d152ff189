using System.Diagnostics;
using JetSharp.Nn;
using JetSharp.Runtime;
using JetSharp.Simplify;

namespace JetSharp.Benchmarks;

/// <summary>
/// The collapsed exact Laplacian of the reference tanh MLP (D = 50) with the tangents' Taylor rules run in the GEMMs'
/// epilogues (opt-in: <c>fuseEpilogues</c>) against the default executor (fused trees only), A/B in one process: the two executables
/// are timed alternately (which goes first alternates too), and the medians are compared, so load that comes and goes
/// on a shared machine falls on both.
/// </summary>
public static class EpilogueBenchmark
{
    /// <summary>One batch size and dtype: median seconds of each variant, their matmul flops, and the largest relative difference of the results.</summary>
    /// <remarks>
    /// The CPU columns are the median CPU time of the process (all threads) per run: what a run costs in core time, which a
    /// shared machine disturbs less than the wall clock (a descheduled thread costs nothing); NaN where it cannot be read.
    /// </remarks>
    public sealed record Point(DType DType, int Batch, double EpilogueSeconds, double TreesSeconds, double EpilogueCpuSeconds, double TreesCpuSeconds,
        double MatMulFlops, (int Products, int Nodes) Epilogues, double MaxRelativeDifference, string Load);

    public static IEnumerable<Point> Run(IEnumerable<DType> dtypes, int[] batches, int repeats, Action<string>? profile = null)
    {
        const int d = OperatorBenchmark.ReferenceDimension;
        foreach (var dtype in dtypes)
        {
            var net = Mlp.Create(d, OperatorBenchmark.Hidden, 1, Activation.Tanh, seed: 0, dtype);
            foreach (int n in batches)
            {
                var x = NDArray.RandomNormal<double>(new Shape(n, d), seed: 1);
                NDArray xs = dtype == DType.Float64 ? x : x.To<float>();
                var graph = DifferentialOperator.Laplacian().Build(Tracer.Function(v => net.Apply(v), xs.Shape, dtype), Strategy.Collapsed);
                var epilogue = new Executable(graph, fuse: true, fuseEpilogues: true);
                var trees = new Executable(graph);
                var a = epilogue.Run(xs)[0].To<double>();
                var b = trees.Run(xs)[0].To<double>();
                double scale = b.Data.Max(Math.Abs), diff = 0;
                for (int i = 0; i < a.Size; i++) diff = Math.Max(diff, Math.Abs(a.Data[i] - b.Data[i]) / scale);
                List<double> te = [], tt = [], ce = [], ct = [];
                for (int r = 0; r < repeats; r++)
                {
                    if (r % 2 == 0) { Time(() => epilogue.Run(xs), te, ce); Time(() => trees.Run(xs), tt, ct); }
                    else { Time(() => trees.Run(xs), tt, ct); Time(() => epilogue.Run(xs), te, ce); }
                }
                if (profile is not null)
                {
                    epilogue.Profile = trees.Profile = true;
                    for (int r = 0; r < repeats; r++) { epilogue.Run(xs); trees.Run(xs); }
                    profile($"{dtype.Name()}, N = {n}, epilogues:\n{epilogue.ProfileReport(12)}trees only:\n{trees.ProfileReport(12)}");
                    epilogue.Profile = trees.Profile = false;
                }
                yield return new Point(dtype, n, Timing.Median(te), Timing.Median(tt), Timing.Median(ce), Timing.Median(ct), GraphStats.Of(graph, n).MatMulFlops, epilogue.EpilogueFusion, diff, Timing.LoadAverage(3));
            }
        }
    }

    private static void Time(Action run, List<double> wall, List<double> cpu)
    {
        double cpu0 = Timing.ProcessCpuSeconds();
        var clock = Stopwatch.StartNew();
        run();
        wall.Add(clock.Elapsed.TotalSeconds);
        cpu.Add(Timing.ProcessCpuSeconds() - cpu0);
    }
}
