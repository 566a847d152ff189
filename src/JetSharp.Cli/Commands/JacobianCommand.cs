using System.Diagnostics;
using JetSharp.Jacobians;
using JetSharp.Examples.Jacobians;
using Spectre.Console;

namespace JetSharp.Cli.Commands;

/// <summary>
/// Jacobians by vertex elimination on the benchmark functions: the multiplication count of forward,
/// reverse, Markowitz and an optimized order, then the measured time of executing each order over a
/// batch of points, checked against the library's forward- and reverse-mode Jacobians.
/// <code>jetsharp jacobian [roe|robot|heart|propane] [--budget 10] [--points 10000] [--repeats 5] [--seed 1] [--threads N]</code>
/// </summary>
public static class JacobianCommand
{
    public static int Run(Args args)
    {
        double budget = args.Value("budget") is { } b
            ? double.TryParse(b, System.Globalization.CultureInfo.InvariantCulture, out var v) && v > 0 ? v : throw new ArgumentException($"--budget expects a positive number of seconds, got '{b}'.")
            : 10;
        int points = args.Int("points", 10000), repeats = args.Int("repeats", 5), seed = args.Int("seed", 1);
        int threads = args.Int("threads", Environment.ProcessorCount);
        if (points < 1) throw new ArgumentException($"--points must be at least 1, got {points}.");
        if (repeats < 1) throw new ArgumentException($"--repeats must be at least 1, got {repeats}.");
        if (threads < 1) throw new ArgumentException($"--threads must be at least 1, got {threads}.");
        var functions = args.Positional.Length == 0 ? JacobianBenchmarks.All : [.. args.Positional.Select(JacobianBenchmarks.Get)];

        AnsiConsole.Write(new Rule("[bold]Jacobians by vertex elimination[/]").LeftJustified());
        AnsiConsole.MarkupLine($"cost = multiplications of edge labels per point (each predecessor × successor pair of an eliminated vertex counts 1); " +
            $"optimizer: {budget:0.#} s, {threads} thread(s), seed {seed}; execution over N = {points} points, best of {repeats}");

        var counts = new Table().Border(TableBorder.Rounded)
            .AddColumns("function", "n → m", "p", "edges", "forward", "reverse", "Markowitz", "optimized", "saving", "search");
        var times = new Table().Border(TableBorder.Rounded)
            .AddColumns("function", "labels", "forward", "reverse", "Markowitz", "optimized", "fwd AD", "rev AD", "max |Δ|");
        bool ok = true;
        foreach (var bench in functions)
        {
            var x = bench.SamplePoints(points, seed);
            var lf = LinearizedFunction.Trace(bench.Function, bench.Inputs, points);
            var g = lf.Structure;
            AnsiConsole.MarkupLine($"[bold]{bench.Name}[/]: {Markup.Escape(bench.Title)}, {bench.Inputs} → {bench.Outputs}, {g.Intermediates} intermediates [grey]({Markup.Escape(bench.Source)})[/]");
            var opt = OrderOptimizer.Optimize(g, new OptimizerOptions { TimeBudget = TimeSpan.FromSeconds(budget), Seed = seed, Threads = threads });
            var heuristics = OrderOptimizer.Heuristics(g);
            var orders = heuristics.Select(h => (h.Name, h.Order, h.Multiplications)).Append(("optimized", opt.Order, opt.Multiplications)).ToArray();
            counts.AddRow(bench.Name, $"{bench.Inputs} → {bench.Outputs}", $"{g.Intermediates}", $"{g.Edges.Count}",
                $"{orders[0].Multiplications}", $"{orders[1].Multiplications}", $"{orders[2].Multiplications}", $"[bold]{opt.Multiplications}[/]",
                $"{opt.Saving:P1} ({Markup.Escape(opt.BestHeuristicName)})", $"{(opt.Exact ? "DP" : "SA")} {Measure.Time(opt.Elapsed.TotalSeconds)}");

            // Execution: labels once (shared by all orders), then each elimination over the N points.
            var fwdRef = JacobianAccumulator.ForwardModeGraph(bench.Function, x);
            var revRef = JacobianAccumulator.ReverseModeGraph(bench.Function, x);
            var jf = fwdRef.Run(x);
            var jr = revRef.Run(x);
            double partialsTime = Best(repeats, () => lf.At(x));
            var labelled = lf.At(x);
            var cells = new List<string> { bench.Name, Measure.Time(partialsTime) };
            double worst = MaxAbsDiff(jf, jr);
            var programs = orders.Select(o => EliminationProgram.Compile(g, o.Order)).ToArray();
            foreach (var program in programs)
            {
                var j = program.Run(labelled);
                worst = Math.Max(worst, Math.Max(MaxAbsDiff(j, jf), MaxAbsDiff(j, jr)));
            }
            cells.AddRange(TimeRoundRobin(repeats, programs, labelled).Select(Measure.Time));
            cells.Add(Measure.Time(Best(repeats, () => fwdRef.Run(x))));
            cells.Add(Measure.Time(Best(repeats, () => revRef.Run(x))));
            bool agree = worst <= 1e-10 * Math.Max(1, jf.Data.Max(Math.Abs));
            ok &= agree;
            cells.Add(agree ? $"[green]{worst:0.0e0}[/]" : $"[red]{worst:0.0e0}[/]");
            times.AddRow([.. cells]);
        }
        AnsiConsole.Write(counts);
        AnsiConsole.MarkupLine("p: intermediate vertices. saving: fewer multiplications than the best of forward, reverse and Markowitz (named). " +
            "search: DP = exact dynamic programming, SA = simulated annealing for the time budget.");
        AnsiConsole.Write(times);
        AnsiConsole.MarkupLine($"Times over N = {points} points, best of the repeats. 'labels' evaluates every edge label (the local partials; shared by all orders); " +
            "each order's column is its elimination alone (measured in turns, into a reused result). 'fwd AD' and 'rev AD' are the library's forward mode (n JVPs in one pass) and reverse mode " +
            "(one VJP per output), run by the graph executor. max |Δ|: largest difference of any order's Jacobian from either.");
        AnsiConsole.MarkupLine(ok ? "[green]Every order agrees with forward- and reverse-mode AD.[/]" : "[red]Disagreement found.[/]");
        return ok ? 0 : 1;
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

    private static double MaxAbsDiff(Tensor<double> a, Tensor<double> b)
    {
        double m = 0;
        for (int i = 0; i < a.Size; i++) m = Math.Max(m, Math.Abs(a.Data[i] - b.Data[i]));
        return m;
    }
}
