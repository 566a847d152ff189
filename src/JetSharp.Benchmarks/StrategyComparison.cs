using JetSharp.Nn;
using JetSharp.Runtime;

namespace JetSharp.Benchmarks;

/// <summary>One timed evaluation: minimum wall time over repeats after a warm-up, and the run's peak live bytes.</summary>
/// <param name="Seconds">Best wall time of one run.</param>
/// <param name="PeakLiveBytes">Peak live tensor bytes of a run.</param>
/// <param name="Result">The first output of the last run.</param>
public readonly record struct Measurement(double Seconds, long PeakLiveBytes, NDArray Result);

/// <summary>One operator of <see cref="StrategyComparison"/>: its name, input dimension, batch size and operator.</summary>
/// <param name="Name">Display name.</param>
/// <param name="Dimension">Input dimension D.</param>
/// <param name="Batch">Batch size N.</param>
/// <param name="Operator">The differential operator.</param>
public sealed record StrategyCase(string Name, int Dimension, int Batch, DifferentialOperator Operator);

/// <summary>Every strategy's measurement of one case and how far their results are apart.</summary>
/// <param name="Case">The case.</param>
/// <param name="Results">Measurement per strategy.</param>
/// <param name="MaxRelativeDifference">Largest difference of any strategy's result from the first, relative to its largest entry.</param>
public sealed record StrategyComparisonResult(StrategyCase Case, IReadOnlyDictionary<Strategy, Measurement> Results, double MaxRelativeDifference)
{
    /// <summary>Whether the strategies agree to 10⁻⁸.</summary>
    public bool Agree => MaxRelativeDifference < 1e-8;
}

/// <summary>
/// The README's main job (<c>jetsharp demo</c>): every operator of the reference tanh MLP computed with the
/// three strategies on a small batch, checked against each other (and the Laplacian against finite
/// differences), with time and peak memory side by side.
/// </summary>
public static class StrategyComparison
{
    /// <summary>Nested first-order, standard Taylor and collapsed Taylor, in that order.</summary>
    public static IReadOnlyList<Strategy> Strategies { get; } = [Strategy.NestedFirstOrder, Strategy.StandardTaylor, Strategy.Collapsed];

    /// <summary>Hidden widths of the reference MLP D → 768 → 768 → 512 → 512 → 1.</summary>
    public static IReadOnlyList<int> Hidden { get; } = [768, 768, 512, 512];

    /// <summary>The compared operators for batch size <paramref name="batch"/> (the biharmonic ones on a quarter of it).</summary>
    public static IReadOnlyList<StrategyCase> Cases(int batch) =>
    [
        new("Δf, exact, D = 50", 50, batch, DifferentialOperator.Laplacian()),
        new("Δf, S = 16, D = 50", 50, batch, DifferentialOperator.Laplacian(Estimate.Stochastic(16, Distribution.Rademacher, seed: 7))),
        new("tr(σσᵀ∇²f), R = 25", 50, batch, DifferentialOperator.WeightedLaplacian(NDArray.RandomNormal<double>(new Shape(50, 25), seed: 3))),
        new("Δ²f, exact, D = 5", 5, Math.Max(1, batch / 4), DifferentialOperator.Biharmonic()),
        new("Δ²f, S = 8, D = 5", 5, Math.Max(1, batch / 4), DifferentialOperator.Biharmonic(Estimate.Stochastic(8, Distribution.Normal, seed: 7))),
    ];

    /// <summary>Compiles and measures <paramref name="c"/> with every strategy on the reference MLP (<paramref name="hidden"/> widths when given); <paramref name="onStrategy"/> is called after each.</summary>
    public static StrategyComparisonResult Run(StrategyCase c, int repeats, Action<Strategy>? onStrategy = null, IReadOnlyList<int>? hidden = null)
    {
        var net = Mlp.Create(c.Dimension, [.. hidden ?? Hidden], 1, Activation.Tanh, seed: 0);
        var x = NDArray.RandomNormal<double>(new Shape(c.Batch, c.Dimension), seed: 1);
        var results = new Dictionary<Strategy, Measurement>();
        foreach (var s in Strategies)
        {
            var compiled = c.Operator.Compile(net.Apply, x.Shape, DType.Float64, s);
            results[s] = Measure(compiled.Executable, [x], repeats);
            onStrategy?.Invoke(s);
        }
        return new StrategyComparisonResult(c, results, MaxRelativeDifference([.. results.Values.Select(r => (NDArray<double>)r.Result)]));
    }

    /// <summary>Runs <paramref name="exe"/> once to warm up, then <paramref name="repeats"/> times: the best time and the peak live bytes.</summary>
    public static Measurement Measure(Executable exe, NDArray[] inputs, int repeats)
    {
        NDArray result = null!;
        double best = Timing.BestSeconds(() => result = exe.Run(inputs)[0], repeats);
        return new(best, exe.LastRun.PeakLiveBytes, result);
    }

    /// <summary>
    /// Σ_d (f(x + h e_d) − 2 f(x) + f(x − h e_d)) / h² for datum 0 against the nested first-order Laplacian of the
    /// reference MLP with D = <paramref name="dimension"/>: (AD value, finite-difference value, relative difference).
    /// </summary>
    public static (double Ad, double Fd, double Rel) FiniteDifferenceCheck(int dimension = 50, IReadOnlyList<int>? hidden = null)
    {
        int d = dimension;
        var net = Mlp.Create(d, [.. hidden ?? Hidden], 1, Activation.Tanh, seed: 0);
        var x = NDArray.RandomNormal<double>(new Shape(1, d), seed: 1);
        double ad = Pde.Laplacian(net.Apply, x, Strategy.NestedFirstOrder).Data[0];
        var points = new NDArray<double>(new Shape(2 * d + 1, d));
        double h = 1e-3;
        for (int r = 0; r < 2 * d + 1; r++)
            for (int j = 0; j < d; j++) points[r, j] = x[0, j];
        for (int j = 0; j < d; j++) { points[2 * j + 1, j] += h; points[2 * j + 2, j] -= h; }
        var f = Executable.Compile(Tracer.Function(net.Apply, points.Shape)).Run(points)[0];
        double fd = 0;
        for (int j = 0; j < d; j++) fd += (f.Data[2 * j + 1] - 2 * f.Data[0] + f.Data[2 * j + 2]) / (h * h);
        return (ad, fd, Math.Abs(ad - fd) / Math.Max(1e-12, Math.Abs(ad)));
    }

    private static double MaxRelativeDifference(List<NDArray<double>> results)
    {
        double scale = Math.Max(1e-300, results[0].Data.Max(Math.Abs));
        double m = 0;
        foreach (var r in results.Skip(1))
            for (int i = 0; i < r.Size; i++) m = Math.Max(m, Math.Abs(r.Data[i] - results[0].Data[i]) / scale);
        return m;
    }
}
