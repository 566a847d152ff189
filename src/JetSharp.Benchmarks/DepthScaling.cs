using System.Diagnostics;
using System.Globalization;
using System.Text;
using JetSharp.Simplify;

namespace JetSharp.Benchmarks;

/// <summary>Build cost of the Laplacian of a sine chain of one depth, for both Taylor strategies.</summary>
/// <param name="Depth">N: the function is h ← sin(h) applied N times to x.</param>
/// <param name="TracedNodes">Nodes of the traced function (N + 1).</param>
/// <param name="CollapsedSeconds">Wall time of trace + jet + simplify + compile with <see cref="Strategy.Collapsed"/>.</param>
/// <param name="StandardSeconds">The same with <see cref="Strategy.StandardTaylor"/> (its finish is common-subexpression and dead-code elimination).</param>
/// <param name="CollapsedNodes">Nodes of the finished collapsed graph.</param>
/// <param name="StandardNodes">Nodes of the finished standard graph.</param>
/// <param name="CollapsedAllocatedBytes">Bytes allocated on the managed heap while building the collapsed operator.</param>
/// <param name="SimplifierVisits">Nodes offered to the rules by the simplifier on the raw collapsed graph (<see cref="Simplifier.Visits"/>), a machine-independent measure of its work.</param>
/// <param name="RawCollapsedNodes">Nodes of the collapsed graph before simplification.</param>
public sealed record DepthScalingRow(int Depth, int TracedNodes, double CollapsedSeconds, double StandardSeconds,
    int CollapsedNodes, int StandardNodes, long CollapsedAllocatedBytes, long SimplifierVisits, int RawCollapsedNodes)
{
    /// <summary>Collapsed build time per traced node, in microseconds.</summary>
    public double CollapsedMicrosecondsPerNode => 1e6 * CollapsedSeconds / TracedNodes;

    /// <summary>Standard build time per traced node, in microseconds.</summary>
    public double StandardMicrosecondsPerNode => 1e6 * StandardSeconds / TracedNodes;

    /// <summary>Simplifier visits per node of the raw collapsed graph.</summary>
    public double VisitsPerRawNode => SimplifierVisits / (double)RawCollapsedNodes;
}

/// <summary>
/// How the time to build an operator grows with the depth of the function (issue 15, defect 8): the
/// exact Laplacian of f(x) = sin(sin(…sin(x))) (N levels) on x of shape [<see cref="Batch"/>,
/// <see cref="Dimension"/>], built from scratch — trace, Taylor transform, simplify (collapsed) or clean
/// up (standard), compile — for each N. The slope of log(time) against log(N), fitted by least squares,
/// is 1 for linear growth and 2 for quadratic. Each build runs once (after an untimed warm-up at small
/// depth), so figures on a busy machine are noisy; the visit counts are not.
/// </summary>
public static class DepthScaling
{
    /// <summary>Batch size N_batch of the points x.</summary>
    public const int Batch = 4;

    /// <summary>Input dimension D of the points x.</summary>
    public const int Dimension = 3;

    /// <summary>The depths of the issue: 1k, 2k, 4k, 8k, 16k, 32k.</summary>
    public static IReadOnlyList<int> DefaultDepths { get; } = [1000, 2000, 4000, 8000, 16000, 32000];

    /// <summary>The sine chain of depth <paramref name="depth"/>.</summary>
    public static Func<Node, Node> SineChain(int depth) => x =>
    {
        var h = x;
        for (int i = 0; i < depth; i++) h = Fn.Sin(h);
        return h;
    };

    /// <summary>
    /// Builds the collapsed and the standard-Taylor Laplacian of the sine chain for each depth and times
    /// each build; <paramref name="progress"/> receives a line per depth.
    /// </summary>
    /// <exception cref="ArgumentException">A depth is below 1, or there are none.</exception>
    public static IReadOnlyList<DepthScalingRow> Measure(IReadOnlyList<int> depths, Action<string>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(depths);
        if (depths.Count == 0) throw new ArgumentException("depth scaling: no depths given.", nameof(depths));
        foreach (int d in depths)
            if (d < 1) throw new ArgumentException($"depth scaling: depths must be ≥ 1, got {d}.", nameof(depths));

        var op = DifferentialOperator.Laplacian();
        var shape = new Shape(Batch, Dimension);
        // Warm-up, untimed: two builds per strategy, deep enough that the hot loops reach optimized (tier-1) code.
        for (int i = 0; i < 2; i++)
            foreach (var s in (Strategy[])[Strategy.Collapsed, Strategy.StandardTaylor])
                op.Compile(SineChain(500), shape, DType.Float64, s);

        var rows = new List<DepthScalingRow>();
        foreach (int depth in depths)
        {
            var f = SineChain(depth);
            Collect();
            long allocated = GC.GetTotalAllocatedBytes(precise: true);
            long t0 = Stopwatch.GetTimestamp();
            var collapsed = op.Compile(f, shape, DType.Float64, Strategy.Collapsed);
            double collapsedSeconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
            allocated = GC.GetTotalAllocatedBytes(precise: true) - allocated;
            int collapsedNodes = collapsed.Graph.Nodes.Count;

            Collect();
            t0 = Stopwatch.GetTimestamp();
            var standard = op.Compile(f, shape, DType.Float64, Strategy.StandardTaylor);
            double standardSeconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;

            // The simplifier's work, counted (untimed) on the raw collapsed graph.
            var raw = op.Build(Tracer.Function(f, shape), Strategy.Collapsed, simplify: false);
            var simplifier = Simplifier.Standard();
            simplifier.Run(raw);

            var row = new DepthScalingRow(depth, depth + 1, collapsedSeconds, standardSeconds,
                collapsedNodes, standard.Graph.Nodes.Count, allocated, simplifier.Visits, raw.Nodes.Count);
            rows.Add(row);
            progress?.Invoke(string.Create(CultureInfo.InvariantCulture,
                $"N = {depth}: collapsed {collapsedSeconds:F3} s, standard {standardSeconds:F3} s, {row.VisitsPerRawNode:F2} simplifier visits per node"));
        }
        return rows;
    }

    private static void Collect()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }

    /// <summary>
    /// Least-squares slope of log(<paramref name="value"/>) against log(depth): about 1 when the value grows
    /// linearly with depth, 2 when quadratically. NaN with fewer than two rows.
    /// </summary>
    public static double Slope(IReadOnlyList<DepthScalingRow> rows, Func<DepthScalingRow, double> value)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(value);
        if (rows.Count < 2) return double.NaN;
        var xs = rows.Select(r => Math.Log(r.Depth)).ToArray();
        var ys = rows.Select(r => Math.Log(value(r))).ToArray();
        double mx = xs.Average(), my = ys.Average();
        double sxy = 0, sxx = 0;
        for (int i = 0; i < xs.Length; i++)
        {
            sxy += (xs[i] - mx) * (ys[i] - my);
            sxx += (xs[i] - mx) * (xs[i] - mx);
        }
        return sxx == 0 ? double.NaN : sxy / sxx;
    }

    /// <summary>A Markdown table of <paramref name="rows"/> followed by the fitted log-log slopes.</summary>
    public static string Format(IReadOnlyList<DepthScalingRow> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine(c, $"Laplacian of sin∘…∘sin (N levels) on x [{Batch}, {Dimension}]: build = trace + Taylor transform + simplify/clean-up + compile.");
        sb.AppendLine();
        sb.AppendLine("| N | collapsed (s) | µs/node | standard (s) | µs/node | collapsed / standard | collapsed alloc (MB) | simplifier visits/node | nodes (collapsed, standard) |");
        sb.AppendLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in rows)
            sb.AppendLine(c, $"| {r.Depth} | {r.CollapsedSeconds:F3} | {r.CollapsedMicrosecondsPerNode:F1} | {r.StandardSeconds:F3} | {r.StandardMicrosecondsPerNode:F1} | {r.CollapsedSeconds / r.StandardSeconds:F2} | {r.CollapsedAllocatedBytes / 1e6:F0} | {r.VisitsPerRawNode:F2} | {r.CollapsedNodes}, {r.StandardNodes} |");
        sb.AppendLine();
        sb.AppendLine(c, $"log-log slope of build time against N (1 = linear, 2 = quadratic): collapsed {Slope(rows, r => r.CollapsedSeconds):F2}, standard {Slope(rows, r => r.StandardSeconds):F2}; " +
                         $"of simplifier visits: {Slope(rows, r => r.SimplifierVisits):F2}; of collapsed allocation: {Slope(rows, r => r.CollapsedAllocatedBytes):F2}.");
        return sb.ToString();
    }
}
