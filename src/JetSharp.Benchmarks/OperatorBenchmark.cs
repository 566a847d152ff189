using JetSharp.Nn;
using JetSharp.Runtime;
using JetSharp.Simplify;
using JetSharp.Transforms;

namespace JetSharp.Benchmarks;

/// <summary>What a benchmark case varies: the batch size N (cost per datum) or the number of samples S at fixed N (cost per sample).</summary>
public enum GridAxis { Batch, Samples }

/// <summary>
/// One operator of the reference benchmark (METHOD.md §6): the tanh MLP D → 768 → 768 → 512 → 512 → 1,
/// an operator, and the grid it is measured on. <see cref="VectorRatio"/> is the collapsed/standard
/// ratio of propagated vectors from METHOD.md §3 for the marginal cost the slope measures.
/// </summary>
public sealed record BenchmarkCase(string Key, string Title, int Dimension, GridAxis Axis, int[] Grid, int FixedBatch,
    Func<int, DifferentialOperator> Operator, double VectorRatio);

/// <summary>Time and memory of one strategy at one grid point.</summary>
public sealed record BenchmarkPoint(int X, double Seconds, long InferenceBytes, long? TrainingBytes, double MatMulFlops, double LayerVectors);

/// <summary>A strategy's points on a case's grid and the fitted marginal costs (slopes of a least-squares line).</summary>
public sealed record StrategyResult(Strategy Strategy, IReadOnlyList<BenchmarkPoint> Points, double SecondsPerUnit, double InferenceBytesPerUnit, double? TrainingBytesPerUnit);

public sealed record CaseResult(BenchmarkCase Case, IReadOnlyList<StrategyResult> Strategies)
{
    /// <summary>The result of strategy <paramref name="s"/> (strategies are singletons: found by reference).</summary>
    public StrategyResult Of(Strategy s) => Strategies.First(r => ReferenceEquals(r.Strategy, s));
}

/// <summary>Settings of a run. <see cref="Quick"/> shrinks every grid to about a minute in all.</summary>
public sealed record BenchmarkOptions
{
    public bool Quick { get; init; }
    public DType DType { get; init; } = DType.Float64;
    public int Repeats { get; init; } = 3;
    public int[]? Batches { get; init; }
    public int[]? Samples { get; init; }
    public int? StochasticBatch { get; init; }
    public bool Training { get; init; } = true;
    public IReadOnlySet<string>? Only { get; init; }
    public Strategy[] Strategies { get; init; } = [Strategy.NestedFirstOrder, Strategy.StandardTaylor, Strategy.Collapsed];
}

/// <summary>
/// The benchmark harness: for each case, strategy and grid point it traces and compiles the operator
/// (not timed), runs it once to warm up, then takes the minimum wall time over repeats and the peak
/// live tensor bytes of a run (inference). Training memory is the peak of a run of the gradient of
/// Σ L f with respect to the network's weights (forward and backward). Marginal costs are the slopes
/// of least-squares lines over the grid.
/// </summary>
public static class OperatorBenchmark
{
    public const int ReferenceDimension = 50;
    public static readonly int[] Hidden = [768, 768, 512, 512];

    public static IReadOnlyList<BenchmarkCase> Cases(BenchmarkOptions o)
    {
        int[] batches = o.Batches ?? (o.Quick ? [8, 16] : [16, 32, 64, 128]);
        int[] samples = o.Samples ?? (o.Quick ? [2, 4] : [4, 8, 16, 32]);
        int stochN = o.StochasticBatch ?? (o.Quick ? 32 : 256);
        const int d = ReferenceDimension, dB = 5;
        var weighted = (int rank) => new BenchmarkCase($"weighted-laplacian-r{rank}", $"exact weighted Laplacian, D = {d}, rank {rank}", d, GridAxis.Batch, batches, 0,
            _ => DifferentialOperator.WeightedLaplacian(NDArray.RandomNormal<double>(new Shape(d, rank), seed: 11)), (2.0 + rank) / (1 + 2.0 * rank));
        var all = new List<BenchmarkCase>
        {
            new("laplacian", $"exact Laplacian, D = {d}", d, GridAxis.Batch, batches, 0, _ => DifferentialOperator.Laplacian(), (2.0 + d) / (1 + 2.0 * d)),
            new("stochastic-laplacian", $"stochastic Laplacian, D = {d}, N = {stochN}", d, GridAxis.Samples, samples, stochN,
                s => DifferentialOperator.Laplacian(Estimate.Stochastic(s, Distribution.Rademacher, seed: 3)), 0.5),
            weighted(d), weighted(d / 2), weighted(d / 10),
            new("biharmonic", $"exact biharmonic by interpolation, D = {dB}", dB, GridAxis.Batch, batches, 0, _ => DifferentialOperator.BiharmonicByInterpolation(),
                (4.5 * dB * dB - 1.5 * dB + 4) / (6.0 * dB * dB - 2 * dB + 1)),
            // The same Δ²f as the Laplacian of the Laplacian's graph: nominally (D + 2)² collapsed against (2D + 1)² standard
            // vectors per layer (the simplifier drops a few of each: 43 and 111 at D = 5).
            new("biharmonic-nested", $"exact biharmonic as Δ(Δf), D = {dB}", dB, GridAxis.Batch, batches, 0, _ => DifferentialOperator.BiharmonicByNestedLaplacians(),
                (dB + 2.0) * (dB + 2) / ((1 + 2.0 * dB) * (1 + 2 * dB))),
            new("stochastic-biharmonic", $"stochastic biharmonic, D = {dB}, N = {stochN}", dB, GridAxis.Samples, samples, stochN,
                s => DifferentialOperator.Biharmonic(Estimate.Stochastic(s, Distribution.Normal, seed: 3)), 0.75),
        };
        return [.. all.Where(c => o.Only is null || o.Only.Contains(c.Key))];
    }

    /// <summary>Runs every case; <paramref name="progress"/> hears each step as it starts.</summary>
    public static List<CaseResult> Run(BenchmarkOptions options, Action<string>? progress = null)
    {
        var results = new List<CaseResult>();
        foreach (var c in Cases(options))
        {
            var net = Mlp.Create(c.Dimension, Hidden, 1, Activation.Tanh, seed: 0, options.DType);
            var strategies = new List<StrategyResult>();
            foreach (var strategy in options.Strategies)
            {
                var points = new List<BenchmarkPoint>();
                foreach (var x in c.Grid)
                {
                    progress?.Invoke($"{c.Title}: {strategy}, {(c.Axis == GridAxis.Batch ? "N" : "S")} = {x}");
                    bool training = options.Training && points.Count < 2;
                    points.Add(Measure(c, net, strategy, x, options, training));
                }
                strategies.Add(new StrategyResult(strategy, points,
                    Slope(points.Select(p => ((double)p.X, p.Seconds))),
                    Slope(points.Select(p => ((double)p.X, (double)p.InferenceBytes))),
                    points.Count(p => p.TrainingBytes is not null) >= 2
                        ? Slope(points.Where(p => p.TrainingBytes is not null).Select(p => ((double)p.X, (double)p.TrainingBytes!.Value)))
                        : null));
            }
            results.Add(new CaseResult(c, strategies));
        }
        return results;
    }

    /// <summary>One strategy at one grid point.</summary>
    public static BenchmarkPoint Measure(BenchmarkCase c, Mlp net, Strategy strategy, int x, BenchmarkOptions options, bool training)
    {
        int n = c.Axis == GridAxis.Batch ? x : c.FixedBatch;
        var op = c.Operator(x);
        var input = NDArray.RandomNormal<double>(new Shape(n, c.Dimension), seed: 1);
        NDArray xs = options.DType == DType.Float64 ? input : input.To<float>();
        var graph = op.Build(Tracer.Function(v => net.Apply(v), xs.Shape, options.DType), strategy);
        var exe = new Executable(graph);
        double best = Timing.BestSeconds(() => exe.Run(xs), options.Repeats);
        var stats = GraphStats.Of(graph, n);
        double layerVectors = stats.PerLayer.Count > 2 ? stats.PerLayer[2].Vectors : 0;
        long? trainingBytes = training ? TrainingPeak(op, net, strategy, xs) : null;
        return new BenchmarkPoint(x, best, exe.LastRun.PeakLiveBytes, trainingBytes, stats.MatMulFlops, layerVectors);
    }

    /// <summary>Peak live bytes of one run of ∇_θ Σ (L u_θ)(x): what training through the operator holds.</summary>
    public static long TrainingPeak(DifferentialOperator op, Mlp net, Strategy strategy, NDArray x)
    {
        var shapes = net.ParameterShapes;
        var u = Tracer.Function(v => net.Apply(v[1..], v[0]), [x.Shape, .. shapes], x.DType);
        var lu = op.Build(u, strategy);
        var loss = new Graph(x.DType);
        var ins = lu.Inputs.Select(i => loss.Input(i.Shape)).ToArray();
        loss.SetOutputs(Fn.Sum(Inline.Apply(lu, ins)[0]));
        var grad = new Executable(Vjp.Grad(loss, [false, .. shapes.Select(_ => true)]));
        grad.Run([x, .. net.Parameters.Select(p => p.DType == x.DType ? p : x.DType == DType.Float32 ? p.To<float>() : (NDArray)p.To<double>())]);
        return grad.LastRun.PeakLiveBytes;
    }

    /// <summary>Least-squares slope of y against x.</summary>
    public static double Slope(IEnumerable<(double X, double Y)> points)
    {
        var p = points.ToList();
        if (p.Count < 2) return double.NaN;
        double mx = p.Average(q => q.X), my = p.Average(q => q.Y);
        double sxy = p.Sum(q => (q.X - mx) * (q.Y - my)), sxx = p.Sum(q => (q.X - mx) * (q.X - mx));
        return sxx == 0 ? double.NaN : sxy / sxx;
    }
}
