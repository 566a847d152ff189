using JetSharp.Examples.Jacobians;
using Spectre.Console;

namespace JetSharp.Cli.Commands;

/// <summary>
/// <c>jetsharp jacobian</c>: renders <see cref="JacobianDemo"/> (multiplication counts and run times of vertex-elimination orders).
/// <code>jetsharp jacobian [roe|robot|heart|propane] [--budget 10] [--points 10000] [--repeats 5] [--seed 1] [--threads N]</code>
/// </summary>
public static class JacobianCommand
{
    public static int Run(Args args)
    {
        double budget = args.Value("budget") is { } b
            ? double.TryParse(b, System.Globalization.CultureInfo.InvariantCulture, out var v) && v > 0 ? v : throw new ArgumentException($"--budget expects a positive number of seconds, got '{b}'.")
            : 10;
        var options = new JacobianDemoOptions
        {
            BudgetSeconds = budget, Points = args.Int("points", 10000), Repeats = args.Int("repeats", 5), Seed = args.Int("seed", 1),
            Threads = args.Int("threads", Environment.ProcessorCount),
        };
        options.Validate();
        var functions = args.Positional.Length == 0 ? JacobianBenchmarks.All : [.. args.Positional.Select(JacobianBenchmarks.Get)];

        AnsiConsole.Write(new Rule("[bold]Jacobians by vertex elimination[/]").LeftJustified());
        AnsiConsole.MarkupLine($"cost = multiplications of edge labels per point (each predecessor × successor pair of an eliminated vertex counts 1); " +
            $"optimizer: {budget:0.#} s, {options.Threads} thread(s), seed {options.Seed}; execution over N = {options.Points} points, best of {options.Repeats}");
        var results = JacobianDemo.Run(options, functions, (bench, intermediates) =>
            AnsiConsole.MarkupLine($"[bold]{bench.Name}[/]: {Markup.Escape(bench.Title)}, {bench.Inputs} → {bench.Outputs}, {intermediates} intermediates [grey]({Markup.Escape(bench.Source)})[/]"));

        var counts = new Table().Border(TableBorder.Rounded)
            .AddColumns("function", "n → m", "p", "edges", "forward", "reverse", "Markowitz", "optimized", "saving", "search");
        var times = new Table().Border(TableBorder.Rounded)
            .AddColumns("function", "labels", "forward", "reverse", "Markowitz", "optimized", "fwd AD", "rev AD", "max |Δ|");
        foreach (var r in results)
        {
            var (f, o) = (r.Function, r.Optimization);
            counts.AddRow(f.Name, $"{f.Inputs} → {f.Outputs}", $"{r.Intermediates}", $"{r.Edges}",
                $"{r.Orders[0].Multiplications}", $"{r.Orders[1].Multiplications}", $"{r.Orders[2].Multiplications}", $"[bold]{o.Multiplications}[/]",
                $"{o.Saving:P1} ({Markup.Escape(o.BestHeuristicName)})", $"{(o.Exact ? "DP" : "SA")} {Measure.Time(o.Elapsed.TotalSeconds)}");
            times.AddRow([f.Name, Measure.Time(r.LabelsSeconds), .. r.Orders.Select(x => Measure.Time(x.Seconds)),
                Measure.Time(r.ForwardAdSeconds), Measure.Time(r.ReverseAdSeconds),
                r.Agree ? $"[green]{r.MaxAbsDifference:0.0e0}[/]" : $"[red]{r.MaxAbsDifference:0.0e0}[/]"]);
        }
        bool ok = results.All(r => r.Agree);
        AnsiConsole.Write(counts);
        AnsiConsole.MarkupLine("p: intermediate vertices. saving: fewer multiplications than the best of forward, reverse and Markowitz (named). " +
            "search: DP = exact dynamic programming, SA = simulated annealing for the time budget.");
        AnsiConsole.Write(times);
        AnsiConsole.MarkupLine($"Times over N = {options.Points} points, best of the repeats. 'labels' evaluates every edge label (the local partials; shared by all orders); " +
            "each order's column is its elimination alone (measured in turns, into a reused result). 'fwd AD' and 'rev AD' are the library's forward mode (n JVPs in one pass) and reverse mode " +
            "(one VJP per output), run by the graph executor. max |Δ|: largest difference of any order's Jacobian from either.");
        AnsiConsole.MarkupLine(ok ? "[green]Every order agrees with forward- and reverse-mode AD.[/]" : "[red]Disagreement found.[/]");
        return ok ? 0 : 1;
    }
}
