using System.Diagnostics;
using JetSharp.Jacobians;

namespace JetSharp.Examples.Jacobians;

/// <summary>Settings of <see cref="JacobianDemo"/>.</summary>
public sealed record JacobianDemoOptions
{
    /// <summary>Time budget of the order search per function, in seconds.</summary>
    public double BudgetSeconds { get; init; } = 10;

    /// <summary>Points N over which the Jacobian is evaluated and timed.</summary>
    public int Points { get; init; } = 10000;

    /// <summary>Timed repeats (the best is kept).</summary>
    public int Repeats { get; init; } = 5;

    /// <summary>Seed of the sample points and of the search.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>Threads of the order search.</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;

    /// <summary>Whether to time the orders and the AD reference (false: counts and agreement only).</summary>
    public bool Time { get; init; } = true;

    /// <summary>Throws <see cref="ArgumentException"/> when a setting is out of range.</summary>
    public void Validate()
    {
        if (!(BudgetSeconds > 0)) throw new ArgumentException($"--budget expects a positive number of seconds, got '{BudgetSeconds}'.");
        if (Points < 1) throw new ArgumentException($"--points must be at least 1, got {Points}.");
        if (Repeats < 1) throw new ArgumentException($"--repeats must be at least 1, got {Repeats}.");
        if (Threads < 1) throw new ArgumentException($"--threads must be at least 1, got {Threads}.");
    }
}

/// <summary>An elimination order's multiplication count and measured time.</summary>
/// <param name="Name">forward, reverse, Markowitz or optimized.</param>
/// <param name="Multiplications">Multiplications of edge labels per point.</param>
/// <param name="Seconds">Best time of its elimination over the N points (NaN when not timed).</param>
public sealed record EliminationOrderResult(string Name, long Multiplications, double Seconds);

/// <summary>Results for one benchmark function.</summary>
/// <param name="Function">The benchmark function.</param>
/// <param name="Intermediates">Intermediate vertices p of its linearized graph.</param>
/// <param name="Edges">Edges of the linearized graph.</param>
/// <param name="Orders">Forward, reverse, Markowitz and the optimized order, in that order.</param>
/// <param name="Optimization">The order search's result.</param>
/// <param name="LabelsSeconds">Best time of evaluating every edge label over the N points (NaN when not timed).</param>
/// <param name="ForwardAdSeconds">Best time of the library's forward-mode Jacobian (NaN when not timed).</param>
/// <param name="ReverseAdSeconds">Best time of the library's reverse-mode Jacobian (NaN when not timed).</param>
/// <param name="MaxAbsDifference">Largest difference of any order's Jacobian from forward- or reverse-mode AD, and between those two.</param>
/// <param name="Agree">Whether <paramref name="MaxAbsDifference"/> is within 10⁻¹⁰ of the Jacobian's scale.</param>
/// <param name="OptimizedJacobian">The Jacobian [N, m, n] from the optimized order.</param>
public sealed record JacobianFunctionResult(BenchmarkFunction Function, int Intermediates, int Edges, IReadOnlyList<EliminationOrderResult> Orders,
    OptimizationResult Optimization, double LabelsSeconds, double ForwardAdSeconds, double ReverseAdSeconds, double MaxAbsDifference, bool Agree,
    NDArray<double> OptimizedJacobian);

/// <summary>
/// Jacobians by vertex elimination on the benchmark functions: the multiplication count of forward,
/// reverse, Markowitz and an optimized order, then the measured time of executing each order over a
/// batch of points, checked against the library's forward- and reverse-mode Jacobians.
/// </summary>
public static class JacobianDemo
{
    /// <summary>Every function of <paramref name="functions"/> (all benchmarks when null); <paramref name="onTraced"/> is called with each function and its intermediate count once it is traced.</summary>
    public static IReadOnlyList<JacobianFunctionResult> Run(JacobianDemoOptions options, IEnumerable<BenchmarkFunction>? functions = null,
        Action<BenchmarkFunction, int>? onTraced = null) =>
        [.. (functions ?? JacobianBenchmarks.All).Select(f => Measure(f, options, onTraced))];

    /// <summary>Counts, times and agreement for one function.</summary>
    public static JacobianFunctionResult Measure(BenchmarkFunction bench, JacobianDemoOptions options, Action<BenchmarkFunction, int>? onTraced = null)
    {
        options.Validate();
        var x = bench.SamplePoints(options.Points, options.Seed);
        var lf = LinearizedFunction.Trace(bench.Function, bench.Inputs, options.Points);
        var g = lf.Structure;
        onTraced?.Invoke(bench, g.Intermediates);
        var opt = OrderOptimizer.Optimize(g, new OptimizerOptions { TimeBudget = TimeSpan.FromSeconds(options.BudgetSeconds), Seed = options.Seed, Threads = options.Threads });
        var orders = OrderOptimizer.Heuristics(g).Select(h => (h.Name, h.Order, h.Multiplications)).Append((Name: "optimized", opt.Order, opt.Multiplications)).ToArray();

        // Execution: labels once (shared by all orders), then each elimination over the N points.
        var fwdRef = JacobianAccumulator.ForwardModeGraph(bench.Function, x);
        var revRef = JacobianAccumulator.ReverseModeGraph(bench.Function, x);
        var jf = fwdRef.Run(x);
        var jr = revRef.Run(x);
        int repeats = options.Repeats;
        double labelsTime = options.Time ? Best(repeats, () => lf.At(x)) : double.NaN;
        var labelled = lf.At(x);
        double worst = MaxAbsDiff(jf, jr);
        var programs = orders.Select(o => EliminationProgram.Compile(g, o.Order)).ToArray();
        NDArray<double>? optimized = null;
        foreach (var program in programs)
        {
            var j = program.Run(labelled);
            worst = Math.Max(worst, Math.Max(MaxAbsDiff(j, jf), MaxAbsDiff(j, jr)));
            optimized = j;   // the last program is the optimized order's
        }
        var times = options.Time ? TimeRoundRobin(repeats, programs, labelled) : [.. programs.Select(_ => double.NaN)];
        double fwdTime = options.Time ? Best(repeats, () => fwdRef.Run(x)) : double.NaN;
        double revTime = options.Time ? Best(repeats, () => revRef.Run(x)) : double.NaN;
        bool agree = worst <= 1e-10 * Math.Max(1, jf.Data.Max(Math.Abs));
        return new JacobianFunctionResult(bench, g.Intermediates, g.Edges.Count,
            [.. orders.Select((o, i) => new EliminationOrderResult(o.Name, o.Multiplications, times[i]))], opt,
            labelsTime, fwdTime, revTime, worst, agree, optimized!);
    }

    private static double Best(int repeats, Action action)
    {
        action(); // warm-up: JIT, buffer pools
        double best = double.MaxValue;
        for (int i = 0; i < repeats; i++)
        {
            var clock = Stopwatch.StartNew();
            action();
            best = Math.Min(best, clock.Elapsed.TotalSeconds);
        }
        return best;
    }

    /// <summary>
    /// Best time of each program, measured in turns (one run of each per round) so that load from other
    /// processes falls on all orders alike; the result buffer is reused, so no run pays for allocation.
    /// </summary>
    private static double[] TimeRoundRobin(int repeats, EliminationProgram[] programs, LinearizedGraph labelled)
    {
        var result = programs[0].Run(labelled); // warm-up of the first; the buffer serves all (same shape)
        foreach (var p in programs) p.RunInto(labelled, result);
        var best = Enumerable.Repeat(double.MaxValue, programs.Length).ToArray();
        for (int r = 0; r < repeats; r++)
            for (int i = 0; i < programs.Length; i++)
            {
                var clock = Stopwatch.StartNew();
                programs[i].RunInto(labelled, result);
                best[i] = Math.Min(best[i], clock.Elapsed.TotalSeconds);
            }
        return best;
    }

    private static double MaxAbsDiff(NDArray<double> a, NDArray<double> b)
    {
        double m = 0;
        for (int i = 0; i < a.Size; i++) m = Math.Max(m, Math.Abs(a.Data[i] - b.Data[i]));
        return m;
    }
}
